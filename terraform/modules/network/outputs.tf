output "vpc_id" {
  value = aws_vpc.this.id
}

output "vpc_cidr" {
  value = aws_vpc.this.cidr_block
}

output "subnet_ids" {
  description = "Subnet ids by \"<tier>-<zone letter>\" (public-a, web-b, ...)."
  value       = { for key, subnet in aws_subnet.this : key => subnet.id }
}

output "public_subnet_ids" {
  value = [for key, subnet in aws_subnet.this : subnet.id if local.subnets[key].tier == "public"]
}
