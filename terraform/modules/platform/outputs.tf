output "inventory" {
  description = "The provisioning inventory's hosts (address, groups, zone) and bastion."
  value = {
    environment = var.environment
    region      = var.region
    hosts       = module.compute.inventory.hosts
    bastion = merge(module.compute.inventory.bastion, {
      host = module.edge.bastion_dns_name
    })
  }
}

output "cloudfront_domain_name" {
  value = module.edge.cloudfront_domain_name
}

output "buckets" {
  value = {
    assets  = module.storage.assets_bucket.id
    backups = module.storage.backups_bucket.id
    dr      = module.storage.dr_bucket.id
  }
}

output "alerts_topic_arn" {
  value = module.alerting.alerts_topic_arn
}
