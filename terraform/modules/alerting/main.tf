# Alerting's AWS side: the SNS topic and the SES identity the alerts use, and CloudWatch alarms as a
# second path that does not depend on the monitoring host (if Prometheus' host dies, its status check
# still pages): host status checks, the ALB's 5xx, and disk space (sent by the cloudwatch role).

data "aws_region" "current" {}

resource "aws_sns_topic" "alerts" {
  name              = "${var.name}-alerts"
  kms_master_key_id = "alias/aws/sns"
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alert_emails)

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.value
}

# SMS to the on-call numbers go through the notifier (SNS direct publish, its instance role), not
# through this topic: the numbers stay in the vault. The account's SMS settings: transactional.
resource "aws_sns_sms_preferences" "this" {
  default_sms_type    = "Transactional"
  monthly_spend_limit = 50
}

# The domain Postfix relays through (SES SMTP) and the alerts come from, signed with DKIM.
resource "aws_sesv2_email_identity" "domain" {
  email_identity = var.mail_domain
  tags           = var.tags
}

resource "aws_route53_record" "dkim" {
  count = 3

  zone_id = var.zone_id
  name    = "${aws_sesv2_email_identity.domain.dkim_signing_attributes[0].tokens[count.index]}._domainkey.${var.mail_domain}"
  type    = "CNAME"
  ttl     = 600
  records = ["${aws_sesv2_email_identity.domain.dkim_signing_attributes[0].tokens[count.index]}.dkim.amazonses.com"]
}

# ── Alarms ───────────────────────────────────────────────────────────────────────────────────
resource "aws_cloudwatch_metric_alarm" "status_check" {
  for_each = var.instance_ids

  alarm_name          = "${var.name}-${each.key}-status-check"
  alarm_description   = "${each.key}: EC2 status checks failing (instance or system): the host is unreachable whatever Prometheus says."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed"
  dimensions          = { InstanceId = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

# A failed system check (AWS's hardware) recovers the instance onto another host, same address.
resource "aws_cloudwatch_metric_alarm" "system_recover" {
  for_each = var.instance_ids

  alarm_name          = "${var.name}-${each.key}-system-recover"
  alarm_description   = "${each.key}: the system status check failed: EC2 recovers the instance."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed_System"
  dimensions          = { InstanceId = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  alarm_actions       = ["arn:aws:automate:${data.aws_region.current.region}:ec2:recover", aws_sns_topic.alerts.arn]
  tags                = var.tags
}

# disk_used_percent per filesystem, as the CloudWatch agent names it, is sent every minute by the
# provisioning role cloudwatch (provision/roles/cloudwatch: Debian's awscli on a timer, the instance
# role's credentials) with exactly these dimensions; a host that stops sending goes
# INSUFFICIENT_DATA (treat_missing_data = missing): its status-check alarm covers a dead host.
resource "aws_cloudwatch_metric_alarm" "disk" {
  for_each = var.instance_ids

  alarm_name          = "${var.name}-${each.key}-disk"
  alarm_description   = "${each.key}: the root filesystem is over ${var.disk_used_percent_threshold}% full (CloudWatch agent)."
  namespace           = "CWAgent"
  metric_name         = "disk_used_percent"
  dimensions          = { InstanceId = each.value, path = "/" }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.disk_used_percent_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "alb_5xx" {
  for_each = {
    elb    = "HTTPCode_ELB_5XX_Count"
    target = "HTTPCode_Target_5XX_Count"
  }

  alarm_name          = "${var.name}-alb-${each.key}-5xx"
  alarm_description   = "The load balancer answers 5xx (${each.value}): more than ${var.alb_5xx_threshold} a minute for 3 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = each.value
  dimensions          = { LoadBalancer = var.alb_arn_suffix }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 3
  threshold           = var.alb_5xx_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}
