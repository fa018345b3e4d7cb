# The EC2 hosts the provisioning roles converge: Debian 13 from Debian's own AMIs (owner 136693071363),
# encrypted gp3 root volumes, IMDSv2 only, an instance role per host's role, fixed private addresses
# (the inventory's), and the bastion's Elastic IP. What runs on them is provision/'s job.

data "aws_ami" "debian" {
  most_recent = true
  owners      = ["136693071363"] # Debian's cloud team
  filter {
    name   = "name"
    values = ["debian-13-amd64-*"]
  }
  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
}

# Every volume created in this account and region is encrypted, even one made by hand.
resource "aws_ebs_encryption_by_default" "this" {
  enabled = true
}

resource "aws_key_pair" "admin" {
  key_name   = "${var.name}-admin"
  public_key = var.admin_public_key
  tags       = var.tags
}

resource "aws_instance" "host" {
  for_each = var.hosts

  ami                     = data.aws_ami.debian.id
  instance_type           = each.value.instance_type
  subnet_id               = var.subnet_ids[each.value.subnet]
  private_ip              = each.value.address
  vpc_security_group_ids  = concat([for group in concat([each.value.role], each.value.also) : var.security_group_ids[group]], var.every_host_security_group_ids)
  iam_instance_profile    = aws_iam_instance_profile.role[each.value.role].name
  key_name                = aws_key_pair.admin.key_name
  monitoring              = true
  disable_api_termination = var.termination_protection
  ebs_optimized           = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required" # IMDSv2 only
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = each.value.volume_size_gb
    encrypted             = true
    delete_on_termination = true
    tags                  = merge(var.tags, { Name = "${var.name}-${each.key}-root", Role = each.value.role })
  }

  tags = merge(var.tags, { Name = "${var.name}-${each.key}", Role = each.value.role, Host = each.key })

  lifecycle {
    # A new Debian point release must not replace running hosts: the roles keep them patched.
    ignore_changes = [ami]
  }
}

resource "aws_eip" "bastion" {
  for_each = { for name, host in var.hosts : name => host if host.role == "bastion" }

  domain   = "vpc"
  instance = aws_instance.host[each.key].id
  tags     = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

# Instance roles: every host ships metrics (the cloudwatch role: disk, memory) and is reachable by SSM;
# the db hosts write backups, the web hosts read the static assets, the monitoring hosts send
# SMS through SNS (the notifier's instance credentials) and publish to the alerts topic.
locals {
  roles = toset([for host in var.hosts : host.role])
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "host" {
  for_each = local.roles

  name               = "${var.name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_instance_profile" "role" {
  for_each = local.roles

  name = "${var.name}-${each.key}"
  role = aws_iam_role.host[each.key].name
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "cloudwatch_agent" {
  for_each = local.roles

  role       = aws_iam_role.host[each.key].name
  policy_arn = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
}

resource "aws_iam_role_policy_attachment" "ssm" {
  for_each = local.roles

  role       = aws_iam_role.host[each.key].name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

data "aws_iam_policy_document" "db" {
  statement {
    actions   = ["s3:PutObject", "s3:GetObject", "s3:ListBucket"]
    resources = [var.backup_bucket_arn, "${var.backup_bucket_arn}/*"]
  }
}

resource "aws_iam_role_policy" "db" {
  for_each = setintersection(local.roles, ["db"])

  role   = aws_iam_role.host[each.key].id
  policy = data.aws_iam_policy_document.db.json
}

data "aws_iam_policy_document" "web" {
  statement {
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [var.assets_bucket_arn, "${var.assets_bucket_arn}/*"]
  }
}

resource "aws_iam_role_policy" "web" {
  for_each = setintersection(local.roles, ["web"])

  role   = aws_iam_role.host[each.key].id
  policy = data.aws_iam_policy_document.web.json
}

data "aws_iam_policy_document" "monitoring" {
  # SMS straight to a phone number has no topic ARN to name: SNS's own resource is "*".
  statement {
    sid       = "SmsToOnCall"
    actions   = ["sns:Publish"]
    resources = ["*"]
  }
  statement {
    sid       = "AlertsTopic"
    actions   = ["sns:Publish"]
    resources = [var.alerts_topic_arn]
  }
}

resource "aws_iam_role_policy" "monitoring" {
  for_each = setintersection(local.roles, ["monitoring"])

  role   = aws_iam_role.host[each.key].id
  policy = data.aws_iam_policy_document.monitoring.json
}

# The dead man's switch texts the on-call admins through SNS with its host's instance role (its
# sms_provider sns), and runs on a host of another role (mail1: also = ["deadman"]): that role may send SMS.
data "aws_iam_policy_document" "deadman" {
  statement {
    sid       = "SmsToOnCall"
    actions   = ["sns:Publish"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "deadman" {
  for_each = toset([for host in var.hosts : host.role if contains(host.also, "deadman") || host.role == "deadman"])

  name   = "${var.name}-${each.key}-deadman"
  role   = aws_iam_role.host[each.key].id
  policy = data.aws_iam_policy_document.deadman.json
}
