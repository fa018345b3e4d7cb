variable "name" {
  description = "Prefix of every resource's name (refereezy-prod)."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range."
  type        = string
}

variable "zones" {
  description = "The two availability zones, in order (a, b)."
  type        = list(string)
  validation {
    condition     = length(var.zones) == 2
    error_message = "The platform spans exactly two availability zones."
  }
}

variable "subnets" {
  description = "Per tier (public, web, app, data), one CIDR per zone, in the order of var.zones. Only public is routed to the internet gateway; the others leave through the NAT gateways."
  type        = map(list(string))
  validation {
    condition     = alltrue([for tier in ["public", "web", "app", "data"] : contains(keys(var.subnets), tier)])
    error_message = "subnets names the tiers public, web, app and data."
  }
}

variable "tags" {
  description = "Tags on every resource (Project, Environment, ManagedBy)."
  type        = map(string)
}
