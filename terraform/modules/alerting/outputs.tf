output "alerts_topic_arn" {
  value = aws_sns_topic.alerts.arn
}

output "ses_identity" {
  value = aws_sesv2_email_identity.domain.email_identity
}
