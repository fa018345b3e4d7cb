# One environment of the platform: the network, its security groups, the hosts, S3, the edge and the
# alarms, composed as production and staging both need them. An environment (terraform/envs/<env>)
# is its layout (hosts.tf), its providers and state, and this module called with them.

module "network" {
  source = "../network"

  name       = var.name
  cidr_block = var.vpc_cidr
  zones      = var.zones
  subnets    = var.subnets
  tags       = var.tags
}

module "security" {
  source = "../security"

  name           = var.name
  vpc_id         = module.network.vpc_id
  operator_cidrs = var.operator_cidrs
  tags           = var.tags
}

module "storage" {
  source = "../storage"
  providers = {
    aws    = aws
    aws.dr = aws.dr
  }

  name = var.name
  tags = var.tags
}

module "compute" {
  source = "../compute"

  name                          = var.name
  hosts                         = var.hosts
  subnet_ids                    = module.network.subnet_ids
  security_group_ids            = module.security.security_group_ids
  every_host_security_group_ids = module.security.attach_to_every_host
  admin_public_key              = var.admin_public_key
  backup_bucket_arn             = module.storage.backups_bucket.arn
  assets_bucket_arn             = module.storage.assets_bucket.arn
  alerts_topic_arn              = module.alerting.alerts_topic_arn
  termination_protection        = var.termination_protection
  tags                          = var.tags
}

module "edge" {
  source = "../edge"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name                   = var.name
  domain                 = var.domain
  zone_name              = var.zone_name
  internal_zone_name     = "internal.${var.domain}"
  vpc_id                 = module.network.vpc_id
  public_subnet_ids      = module.network.public_subnet_ids
  edge_security_group_id = module.security.security_group_ids["edge"]
  web_instance_ids       = { for name, id in module.compute.instance_ids : name => id if var.hosts[name].role == "web" }
  api_addresses          = [for name, host in var.hosts : host.address if host.role == "api"]
  bastion_public_ip      = module.compute.inventory.bastion.public_ip
  assets_bucket          = module.storage.assets_bucket
  tags                   = var.tags
}

module "alerting" {
  source = "../alerting"

  name           = var.name
  mail_domain    = var.domain
  zone_id        = module.edge.public_zone_id
  alert_emails   = var.alert_emails
  instance_ids   = module.compute.instance_ids
  alb_arn_suffix = module.edge.alb_arn_suffix
  tags           = var.tags
}
