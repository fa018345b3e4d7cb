variable "name" {
  description = "Prefix of every bucket's name (refereezy-prod): bucket names are global, so it includes the environment."
  type        = string
}

variable "backup_retention_days" {
  description = "How long a backup (and a replaced version of one) is kept, here and in the DR region."
  type        = number
  default     = 30
}

variable "tags" {
  type = map(string)
}
