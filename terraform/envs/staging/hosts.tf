# Staging's layout: production's shape, one host per role, smaller sizes (same families, so a
# behaviour seen here is production's).
locals {
  environment = "staging"
  region      = "eu-west-1"
  dr_region   = "eu-central-1"
  zones       = ["eu-west-1a", "eu-west-1b"]
  domain      = "staging.refereezy.example"

  vpc_cidr = "10.10.0.0/16"
  subnets = {
    public = ["10.10.0.0/24", "10.10.4.0/24"]
    web    = ["10.10.1.0/24", "10.10.5.0/24"]
    app    = ["10.10.2.0/24", "10.10.6.0/24"]
    data   = ["10.10.3.0/24", "10.10.7.0/24"]
  }

  # EC2 termination protection: staging is rebuilt at will.
  termination_protection = false

  hosts = {
    bastion = { role = "bastion", instance_type = "t3.micro", volume_size_gb = 20, subnet = "public-a", address = "10.10.0.10" }
    web1    = { role = "web", instance_type = "c6i.large", volume_size_gb = 30, subnet = "web-a", address = "10.10.1.10" }
    api1    = { role = "api", instance_type = "c6i.large", volume_size_gb = 50, subnet = "app-a", address = "10.10.2.10" }
    mail1   = { role = "mail", also = ["deadman"], instance_type = "t3.small", volume_size_gb = 20, subnet = "app-a", address = "10.10.2.20" }
    mon1    = { role = "monitoring", instance_type = "t3.medium", volume_size_gb = 50, subnet = "app-a", address = "10.10.2.30" }
    db1     = { role = "db", instance_type = "r6i.large", volume_size_gb = 50, subnet = "data-a", address = "10.10.3.10" }
  }
}
