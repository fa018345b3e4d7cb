variable "name" {
  description = "Prefix of every resource's name (refereezy-prod)."
  type        = string
}

variable "hosts" {
  description = "The EC2 hosts the provisioning roles converge, by inventory name. role is the host's main provisioning group: its security group and its instance role; also its other provisioning groups, each also a security group of the host (mail1: also = [\"deadman\"]); subnet a key of the network module's subnet_ids (web-a, data-b, ...); address its fixed private address (the inventory's)."
  type = map(object({
    role           = string
    also           = optional(list(string), [])
    instance_type  = string
    volume_size_gb = number
    subnet         = string
    address        = string
  }))
}

variable "subnet_ids" {
  description = "The network module's subnet_ids."
  type        = map(string)
}

variable "security_group_ids" {
  description = "The security module's security_group_ids, by group name."
  type        = map(string)
}

variable "every_host_security_group_ids" {
  description = "Groups every host gets besides its role's and its also's (management)."
  type        = list(string)
}

variable "admin_public_key" {
  description = "The first operator's public key, for the cloud image's admin user until the common role installs them all."
  type        = string
}

variable "backup_bucket_arn" {
  description = "The backups bucket: the db hosts write their backups there."
  type        = string
}

variable "assets_bucket_arn" {
  description = "The static assets bucket: the web hosts read it on deploy."
  type        = string
}

variable "alerts_topic_arn" {
  description = "The alerts' SNS topic."
  type        = string
}

variable "termination_protection" {
  description = "Refuse to terminate instances from the API (prod)."
  type        = bool
  default     = true
}

variable "tags" {
  type = map(string)
}
