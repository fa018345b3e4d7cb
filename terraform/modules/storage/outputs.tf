output "assets_bucket" {
  value = { id = aws_s3_bucket.assets.id, arn = aws_s3_bucket.assets.arn, regional_domain_name = aws_s3_bucket.assets.bucket_regional_domain_name }
}

output "backups_bucket" {
  value = { id = aws_s3_bucket.backups.id, arn = aws_s3_bucket.backups.arn }
}

output "dr_bucket" {
  value = { id = aws_s3_bucket.dr.id, arn = aws_s3_bucket.dr.arn }
}
