output "instance_ids" {
  value = { for name, host in aws_instance.host : name => host.id }
}

output "inventory" {
  description = "What the provisioning inventory needs (npm run inventory:from-terraform): every host's address, groups and zone, and the bastion."
  value = {
    hosts = {
      for name, host in aws_instance.host : name => {
        address       = host.private_ip
        groups        = concat([var.hosts[name].role], var.hosts[name].also)
        zone          = host.availability_zone
        instance_id   = host.id
        instance_type = host.instance_type
      }
    }
    bastion = one([
      for name, eip in aws_eip.bastion : {
        name            = name
        public_ip       = eip.public_ip
        private_address = aws_instance.host[name].private_ip
      }
    ])
  }
}
