variable "name" {
  description = "Prefix of every security group's name (refereezy-prod)."
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "operator_cidrs" {
  description = "The operators' office/VPN ranges: the only sources the bastion admits SSH from (the rules whose source is \"operators\")."
  type        = list(string)
  validation {
    condition     = length(var.operator_cidrs) > 0 && alltrue([for cidr in var.operator_cidrs : !contains(["0.0.0.0/0", "::/0"], cidr)])
    error_message = "operator_cidrs names the operators' ranges, never the whole internet."
  }
}

variable "tags" {
  type = map(string)
}
