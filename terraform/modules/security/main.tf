# The security groups and their ingress rules, from the one source: security-groups/security-groups.yaml,
# rendered into rules.tf.json (local.security_groups, local.ingress_rules) by
# `npm run security-groups -- generate`. Rules are written there, never here: this file only turns
# each rule's source (a group, the operators, CloudFront, the internet) into an AWS rule.

resource "aws_security_group" "this" {
  for_each = local.security_groups

  name        = "${var.name}-${each.key}"
  description = each.value.description
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-${each.key}" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_group" {
  for_each = { for key, rule in local.ingress_rules : key => rule if rule.source_kind == "group" }

  security_group_id            = aws_security_group.this[each.value.group].id
  referenced_security_group_id = aws_security_group.this[each.value.source].id
  ip_protocol                  = each.value.protocol
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = each.value.description
  tags                         = merge(var.tags, { Name = each.key })
}

resource "aws_vpc_security_group_ingress_rule" "from_operators" {
  for_each = merge([
    for key, rule in local.ingress_rules : {
      for cidr in var.operator_cidrs : "${key}-${cidr}" => merge(rule, { cidr = cidr })
    } if rule.source_kind == "operators"
  ]...)

  security_group_id = aws_security_group.this[each.value.group].id
  cidr_ipv4         = each.value.cidr
  ip_protocol       = each.value.protocol
  from_port         = each.value.port
  to_port           = each.value.port
  description       = each.value.description
  tags              = merge(var.tags, { Name = each.key })
}

# CloudFront's origin-facing addresses, maintained by AWS: the load balancer admits nothing else.
data "aws_ec2_managed_prefix_list" "cloudfront" {
  name = "com.amazonaws.global.cloudfront.origin-facing"
}

resource "aws_vpc_security_group_ingress_rule" "from_cloudfront" {
  for_each = { for key, rule in local.ingress_rules : key => rule if rule.source_kind == "cloudfront" }

  security_group_id = aws_security_group.this[each.value.group].id
  prefix_list_id    = data.aws_ec2_managed_prefix_list.cloudfront.id
  ip_protocol       = each.value.protocol
  from_port         = each.value.port
  to_port           = each.value.port
  description       = each.value.description
  tags              = merge(var.tags, { Name = each.key })
}

# The source's schema admits "internet" only on the edge's 80 and 443 (security-groups/schema.ts).
resource "aws_vpc_security_group_ingress_rule" "from_internet" {
  for_each = { for key, rule in local.ingress_rules : key => rule if rule.source_kind == "internet" }

  security_group_id = aws_security_group.this[each.value.group].id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = each.value.protocol
  from_port         = each.value.port
  to_port           = each.value.port
  description       = each.value.description
  tags              = merge(var.tags, { Name = each.key })
}

# Egress: the load balancer reaches the web servers only; hosts reach out (apt, SES, SNS, S3)
# through their zone's NAT gateway or the S3 endpoint.
resource "aws_vpc_security_group_egress_rule" "edge_to_web" {
  security_group_id            = aws_security_group.this["edge"].id
  referenced_security_group_id = aws_security_group.this["web"].id
  ip_protocol                  = "tcp"
  from_port                    = 80
  to_port                      = 80
  description                  = "The load balancer's targets and health checks"
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "hosts_out" {
  for_each = { for key, group in local.security_groups : key => group if key != "edge" }

  security_group_id = aws_security_group.this[each.key].id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
  description       = "Outbound: through the NAT gateway or the VPC's endpoints"
  tags              = var.tags
}
