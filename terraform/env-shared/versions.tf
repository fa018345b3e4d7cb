terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 6.0" }
  }
}

locals {
  tags = {
    Project     = "refereezy"
    Environment = local.environment
    ManagedBy   = "terraform"
  }
}

provider "aws" {
  region = local.region
  default_tags {
    tags = local.tags
  }
}

# The DR region: the backups' replica.
provider "aws" {
  alias  = "dr"
  region = local.dr_region
  default_tags {
    tags = local.tags
  }
}

# CloudFront's certificate and web ACL.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
  default_tags {
    tags = local.tags
  }
}
