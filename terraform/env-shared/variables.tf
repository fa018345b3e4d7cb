variable "operator_cidrs" {
  description = "The operators' office/VPN ranges: the bastion admits SSH from these only (set in the workflow's environment, TF_VAR_operator_cidrs)."
  type        = list(string)
}

variable "admin_public_key" {
  description = "The first operator's SSH public key (the cloud image's admin user until the common role installs them all)."
  type        = string
}

variable "alert_emails" {
  description = "Who gets the CloudWatch alarms by email."
  type        = list(string)
  default     = ["admins@refereezy.example"]
}
