# Production's layout: read by Terraform, and by scripts/architecture.ts for docs/architecture.md.
# role is a host's main provisioning group (its instance role); also its other groups (mail1 runs the
# dead man's switch, apart from the monitoring host it watches); each is a security group of the host.
# Sizes from the server table: web 4 vCPU/8 GiB/50 GB, API 8 vCPU/16 GiB/100 GB, mail 2 vCPU/4 GiB/20 GB.
# The database: one r6i.xlarge (4 vCPU/32 GiB: the working set in memory) with 200 GB, in zone a;
# its backups go to S3 and are replicated to the DR region. A standby in zone b comes with replication.
locals {
  environment = "prod"
  region      = "eu-west-1"
  dr_region   = "eu-central-1"
  zones       = ["eu-west-1a", "eu-west-1b"]
  domain      = "refereezy.example"

  vpc_cidr = "10.0.0.0/16"
  subnets = {
    public = ["10.0.0.0/24", "10.0.4.0/24"]
    web    = ["10.0.1.0/24", "10.0.5.0/24"]
    app    = ["10.0.2.0/24", "10.0.6.0/24"]
    data   = ["10.0.3.0/24", "10.0.7.0/24"]
  }

  # EC2 termination protection: production hosts are not destroyed by a mistaken plan.
  termination_protection = true

  hosts = {
    bastion = { role = "bastion", instance_type = "t3.small", volume_size_gb = 20, subnet = "public-a", address = "10.0.0.10" }
    web1    = { role = "web", instance_type = "c6i.xlarge", volume_size_gb = 50, subnet = "web-a", address = "10.0.1.10" }
    web2    = { role = "web", instance_type = "c6i.xlarge", volume_size_gb = 50, subnet = "web-b", address = "10.0.5.10" }
    api1    = { role = "api", instance_type = "c6i.2xlarge", volume_size_gb = 100, subnet = "app-a", address = "10.0.2.10" }
    api2    = { role = "api", instance_type = "c6i.2xlarge", volume_size_gb = 100, subnet = "app-b", address = "10.0.6.10" }
    mail1   = { role = "mail", also = ["deadman"], instance_type = "t3.medium", volume_size_gb = 20, subnet = "app-a", address = "10.0.2.20" }
    mon1    = { role = "monitoring", instance_type = "m6i.large", volume_size_gb = 100, subnet = "app-b", address = "10.0.6.30" }
    db1     = { role = "db", instance_type = "r6i.xlarge", volume_size_gb = 200, subnet = "data-a", address = "10.0.3.10" }
  }
}
