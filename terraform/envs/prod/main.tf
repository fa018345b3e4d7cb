# Production: eu-west-1, two zones, the DR bucket in eu-central-1.

module "network" {
  source = "../../modules/network"

  name       = "refereezy-${local.environment}"
  cidr_block = local.vpc_cidr
  zones      = local.zones
  subnets    = local.subnets
  tags       = local.tags
}

module "security" {
  source = "../../modules/security"

  name           = "refereezy-${local.environment}"
  vpc_id         = module.network.vpc_id
  operator_cidrs = var.operator_cidrs
  tags           = local.tags
}

module "storage" {
  source = "../../modules/storage"
  providers = {
    aws    = aws
    aws.dr = aws.dr
  }

  name = "refereezy-${local.environment}"
  tags = local.tags
}

module "compute" {
  source = "../../modules/compute"

  name                          = "refereezy-${local.environment}"
  hosts                         = local.hosts
  subnet_ids                    = module.network.subnet_ids
  security_group_ids            = module.security.security_group_ids
  every_host_security_group_ids = module.security.attach_to_every_host
  admin_public_key              = var.admin_public_key
  backup_bucket_arn             = module.storage.backups_bucket.arn
  assets_bucket_arn             = module.storage.assets_bucket.arn
  alerts_topic_arn              = module.alerting.alerts_topic_arn
  termination_protection        = true
  tags                          = local.tags
}

module "edge" {
  source = "../../modules/edge"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name                   = "refereezy-${local.environment}"
  domain                 = local.domain
  zone_name              = "refereezy.example"
  internal_zone_name     = "internal.${local.domain}"
  vpc_id                 = module.network.vpc_id
  public_subnet_ids      = module.network.public_subnet_ids
  edge_security_group_id = module.security.security_group_ids["edge"]
  web_instance_ids       = { for name, id in module.compute.instance_ids : name => id if local.hosts[name].role == "web" }
  api_addresses          = [for name, host in local.hosts : host.address if host.role == "api"]
  bastion_public_ip      = module.compute.inventory.bastion.public_ip
  assets_bucket          = module.storage.assets_bucket
  tags                   = local.tags
}

module "alerting" {
  source = "../../modules/alerting"

  name           = "refereezy-${local.environment}"
  mail_domain    = local.domain
  zone_id        = module.edge.public_zone_id
  alert_emails   = var.alert_emails
  instance_ids   = module.compute.instance_ids
  alb_arn_suffix = module.edge.alb_arn_suffix
  tags           = local.tags
}
