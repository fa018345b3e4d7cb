terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
      # The DR region (the backups' replica) and us-east-1 (CloudFront's certificate and web ACL).
      configuration_aliases = [aws.dr, aws.us_east_1]
    }
  }
}
