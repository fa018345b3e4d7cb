variable "name" {
  description = "Prefix of every resource's name (refereezy-prod)."
  type        = string
}

variable "environment" {
  description = "The environment's name (prod, staging), as the inventory output names it."
  type        = string
}

variable "region" {
  description = "The platform's region (the default provider's), as the inventory output names it."
  type        = string
}

variable "zones" {
  description = "The two availability zones the subnets are spread over."
  type        = list(string)
}

variable "domain" {
  description = "The public name CloudFront answers (refereezy.example); the alerts' mail domain too."
  type        = string
}

variable "zone_name" {
  description = "The Route 53 public hosted zone the records go into."
  type        = string
  default     = "refereezy.example"
}

variable "vpc_cidr" {
  type = string
}

variable "subnets" {
  description = "Per tier (public, web, app, data), one CIDR per zone."
  type        = map(list(string))
}

variable "hosts" {
  description = "The hosts by inventory name (terraform/envs/<env>/hosts.tf): role, also, instance_type, volume_size_gb, subnet, address."
  type = map(object({
    role           = string
    also           = optional(list(string), [])
    instance_type  = string
    volume_size_gb = number
    subnet         = string
    address        = string
  }))
}

variable "termination_protection" {
  description = "EC2 termination protection on every host (production: on)."
  type        = bool
}

variable "operator_cidrs" {
  description = "The operators' office/VPN ranges: the bastion admits SSH from these only."
  type        = list(string)
}

variable "admin_public_key" {
  description = "The first operator's SSH public key."
  type        = string
}

variable "alert_emails" {
  description = "Who gets the CloudWatch alarms by email."
  type        = list(string)
}

variable "tags" {
  type = map(string)
}
