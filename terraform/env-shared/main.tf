# Every environment's root module: this file, variables.tf, outputs.tf and versions.tf are shared by
# terraform/envs/<env>/ as symbolic links, so an environment is its backend.tf and its hosts.tf (its
# layout: locals read by Terraform and by scripts/lib/terraform-model.ts), nothing else. The
# composition itself is modules/platform.
module "platform" {
  source = "../../modules/platform"
  providers = {
    aws           = aws
    aws.dr        = aws.dr
    aws.us_east_1 = aws.us_east_1
  }

  name                   = "refereezy-${local.environment}"
  environment            = local.environment
  region                 = local.region
  zones                  = local.zones
  domain                 = local.domain
  vpc_cidr               = local.vpc_cidr
  subnets                = local.subnets
  hosts                  = local.hosts
  termination_protection = local.termination_protection
  operator_cidrs         = var.operator_cidrs
  admin_public_key       = var.admin_public_key
  alert_emails           = var.alert_emails
  tags                   = local.tags
}
