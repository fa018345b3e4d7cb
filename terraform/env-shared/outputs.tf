# `terraform output -json` → `npm run inventory:from-terraform -- <file> --env <environment> --check` (provision/inventories/<environment>.yaml).
output "inventory" {
  description = "The provisioning inventory's hosts (address, groups, zone) and bastion."
  value       = module.platform.inventory
}

output "cloudfront_domain_name" {
  value = module.platform.cloudfront_domain_name
}

output "buckets" {
  value = module.platform.buckets
}

output "alerts_topic_arn" {
  value = module.platform.alerts_topic_arn
}
