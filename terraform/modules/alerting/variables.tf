variable "name" {
  description = "Prefix of every resource's name (refereezy-prod)."
  type        = string
}

variable "mail_domain" {
  description = "The domain the alerts and reports are sent from (SES identity, DKIM in Route 53)."
  type        = string
}

variable "zone_id" {
  description = "The public hosted zone the SES DKIM records go into."
  type        = string
}

variable "alert_emails" {
  description = "Who gets the CloudWatch alarms by email (the admins' list)."
  type        = list(string)
}

variable "instance_ids" {
  description = "Every host by inventory name: a status-check alarm and a disk alarm each."
  type        = map(string)
}

variable "alb_arn_suffix" {
  type = string
}

variable "disk_used_percent_threshold" {
  description = "Root filesystem use that raises the disk alarm (as the Prometheus rule's warning)."
  type        = number
  default     = 85
}

variable "alb_5xx_threshold" {
  description = "5xx answers per minute, from the ALB or its targets, that raise the alarm."
  type        = number
  default     = 10
}

variable "tags" {
  type = map(string)
}
