output "alb_arn_suffix" {
  description = "For the ALB's CloudWatch metrics (dimension LoadBalancer)."
  value       = aws_lb.this.arn_suffix
}

output "cloudfront_domain_name" {
  value = aws_cloudfront_distribution.this.domain_name
}

output "bastion_dns_name" {
  value = aws_route53_record.bastion.fqdn
}

output "public_zone_id" {
  value = data.aws_route53_zone.public.zone_id
}
