# Remote state in S3, locked with S3's own lock file (Terraform >= 1.10: no DynamoDB table).
# The bucket is versioned and encrypted; it is made once by hand (docs/runbooks/terraform.md).
terraform {
  backend "s3" {
    bucket       = "refereezy-terraform-state"
    key          = "prod/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
