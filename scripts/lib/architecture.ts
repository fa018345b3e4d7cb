import type { SecurityGroups } from '../../security-groups/schema.js';
import { hostGroups, sizeOf, type Layout } from './terraform-model.js';

/**
 * docs/architecture.md: production's network as Mermaid, from the same sources Terraform reads —
 * the layout (terraform/envs/prod/hosts.tf: regions, zones, subnets, hosts and sizes) and the
 * security groups (security-groups/security-groups.yaml). Generated; a test checks it is current.
 */

const id = (text: string) => text.replace(/[^A-Za-z0-9]/g, '_');
const external: Record<string, string> = {
  internet: 'Internet',
  cloudfront: 'CloudFront',
  operators: 'operators (operator_cidrs)',
};

function hostLabel(name: string, host: Layout['hosts'][string], groups: readonly string[]): string {
  const size = sizeOf(host.instance_type);
  return `${name}["<b>${name}</b> · ${hostGroups(host).join(' + ')}<br/>${host.instance_type}: ${size.vcpu} vCPU / ${size.memoryGiB} GiB / ${host.volume_size_gb} GB<br/>${host.address} · SG ${groups.join(', ')}"]`;
}

export function renderArchitecture(layout: Layout, source: SecurityGroups): string {
  const everyHost = Object.entries(source.groups)
    .filter(([, g]) => g.attach === 'every-host')
    .map(([name]) => name);
  const groupsOf = (host: Layout['hosts'][string]) => [...hostGroups(host), ...everyHost];
  const letters = ['a', 'b'] as const;

  const network: string[] = ['flowchart TB'];
  network.push('  users([browsers, mobile and watch apps]) -->|"HTTPS"| r53["Route 53<br/>' + layout.domain + '"]');
  network.push('  r53 --> cf["CloudFront<br/>AWS WAF (managed rule groups, rate limit)<br/>Shield Standard"]');
  network.push('  operators([operators]) -->|"SSH :22 from operator_cidrs"| bastion');
  network.push(`  subgraph ${id(layout.region)}["region ${layout.region}"]`);
  network.push(`    subgraph vpc["VPC ${layout.vpc_cidr}"]`);
  network.push('      alb["Application Load Balancer<br/>SG edge · HTTPS :443, HTTP :80 → 301"]');
  letters.forEach((letter, index) => {
    const zone = layout.zones[index] ?? letter;
    network.push(`      subgraph ${id(zone)}["zone ${zone}"]`);
    for (const tier of ['public', 'web', 'app', 'data'] as const) {
      const subnet = `${tier}-${letter}`;
      const cidr = layout.subnets[tier][index];
      network.push(`        subgraph ${id(subnet)}["${tier} subnet ${cidr}"]`);
      if (tier === 'public') network.push(`          nat_${letter}["NAT gateway ${letter}"]`);
      for (const [name, host] of Object.entries(layout.hosts).filter(([, h]) => h.subnet === subnet)) {
        network.push(`          ${hostLabel(name, host, groupsOf(host))}`);
      }
      network.push('        end');
    }
    network.push('      end');
  });
  network.push('    end');
  network.push('    assets[("S3 assets<br/>versioned · SSE · no public access")]');
  network.push('    backups[("S3 backups<br/>versioned · SSE · 30-day lifecycle")]');
  network.push('    alerting["SNS alerts topic · SES identity<br/>CloudWatch alarms: status checks, ALB 5xx, disk"]');
  network.push('  end');
  network.push(`  subgraph ${id(layout.dr_region)}["region ${layout.dr_region} (DR)"]`);
  network.push('    dr[("S3 backups-dr<br/>versioned · SSE · 30-day lifecycle")]');
  network.push('  end');
  network.push('  cf -->|"HTTPS origin.' + layout.domain + '"| alb');
  network.push('  cf -->|"/assets/*"| assets');
  const webHosts = Object.entries(layout.hosts)
    .filter(([, h]) => h.role === 'web')
    .map(([name]) => name);
  if (webHosts.length > 0) network.push(`  alb -->|":80"| ${webHosts.join(' & ')}`);
  const dbHosts = Object.entries(layout.hosts)
    .filter(([, h]) => h.role === 'db')
    .map(([name]) => name);
  if (dbHosts.length > 0) network.push(`  ${dbHosts.join(' & ')} -->|"backups"| backups`);
  network.push('  backups -->|"cross-region replication"| dr');

  const groupsDiagram: string[] = ['flowchart LR'];
  const used = new Set<string>();
  for (const [group, g] of Object.entries(source.groups)) {
    const members =
      g.attach === 'every-host'
        ? ['every host']
        : group === 'edge'
          ? ['the load balancer']
          : Object.entries(layout.hosts)
              .filter(([, h]) => hostGroups(h).includes(group))
              .map(([name]) => name);
    groupsDiagram.push(`  sg_${id(group)}["SG <b>${group}</b><br/>${members.join(', ') || '(no host)'}"]`);
    for (const rule of g.rules) for (const from of rule.from) if (from in external) used.add(from);
  }
  for (const from of used) groupsDiagram.push(`  ${id(from)}([${external[from] ?? from}])`);
  for (const [group, g] of Object.entries(source.groups)) {
    for (const rule of g.rules) {
      for (const from of rule.from) {
        const node = from in external ? id(from) : `sg_${id(from)}`;
        groupsDiagram.push(`  ${node} -->|":${rule.port}"| sg_${id(group)}`);
      }
    }
  }

  const rows = Object.entries(layout.hosts).map(([name, host]) => {
    const size = sizeOf(host.instance_type);
    const zone = layout.zones[host.subnet.endsWith('-a') ? 0 : 1];
    return `| ${name} | ${hostGroups(host).join(', ')} | ${host.instance_type} | ${size.vcpu} | ${size.memoryGiB} GiB | ${host.volume_size_gb} GB (gp3, encrypted) | ${zone} | ${host.subnet} | ${host.address} | ${groupsOf(host).join(', ')} |`;
  });

  return [
    '# Production architecture',
    '',
    '<!-- Generated by `npm run architecture` from terraform/envs/prod/hosts.tf and security-groups/security-groups.yaml: edit those, not this file (tests/unit/architecture.test.ts checks it). -->',
    '',
    `Production runs in AWS ${layout.region}, in two availability zones, with the backups replicated to`,
    `${layout.dr_region}. Terraform builds it (\`terraform/\`); the provisioning roles converge the hosts`,
    '(`provision/`, inventory `provision/inventories/prod.yaml`, checked against `terraform output`).',
    '',
    '## Network',
    '',
    '```mermaid',
    ...network,
    '```',
    '',
    "Private subnets (web, app, data) reach the internet only through their zone's NAT gateway; S3 through",
    "the VPC's gateway endpoint. Every EBS volume is encrypted, every instance requires IMDSv2.",
    '',
    '## Hosts',
    '',
    '| Host | Role | Type | vCPU | Memory | Disk | Zone | Subnet | Address | Security groups |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    '## Security groups',
    '',
    'Who may open a connection to whom, on which port (everything else is dropped, by the security group',
    'at the VPC and by nftables on the host).',
    '',
    '```mermaid',
    ...groupsDiagram,
    '```',
    '',
  ].join('\n');
}
