output "security_group_ids" {
  description = "Security group ids by the source's group name (edge, management, bastion, web, api, db, mail, deadman, monitoring)."
  value       = { for key, group in aws_security_group.this : key => group.id }
}

output "attach_to_every_host" {
  description = "The groups every host gets besides its own (management: SSH from the bastion, node_exporter)."
  value       = [for key, group in local.security_groups : aws_security_group.this[key].id if group.attach == "every-host"]
}
