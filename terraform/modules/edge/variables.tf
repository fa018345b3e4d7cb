variable "name" {
  description = "Prefix of every resource's name (refereezy-prod)."
  type        = string
}

variable "domain" {
  description = "The public name (refereezy.example, staging.refereezy.example): CloudFront answers it."
  type        = string
}

variable "zone_name" {
  description = "The Route 53 public hosted zone the records go into (refereezy.example)."
  type        = string
}

variable "internal_zone_name" {
  description = "The private hosted zone of the VPC (internal.refereezy.example): api.<it> has one A record per API host."
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "public_subnet_ids" {
  type = list(string)
}

variable "edge_security_group_id" {
  description = "The security group \"edge\" (the load balancer's)."
  type        = string
}

variable "web_instance_ids" {
  description = "The web hosts, the load balancer's targets."
  type        = map(string)
}

variable "api_addresses" {
  description = "The API hosts' private addresses (api.<internal zone>)."
  type        = list(string)
}

variable "bastion_public_ip" {
  type = string
}

variable "assets_bucket" {
  description = "The storage module's assets_bucket: CloudFront serves /assets/* from it."
  type        = object({ id = string, arn = string, regional_domain_name = string })
}

variable "waf_rate_limit" {
  description = "Requests per minute from one address before the WAF answers 429: the replica edge's EDGE_REQUESTS_PER_10S default (1000) over AWS WAF's one-minute window."
  type        = number
  default     = 6000
}

variable "tags" {
  type = map(string)
}
