import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';

/** security-groups/security-groups.yaml: the one source of who may reach what in production. */
export const sourceFile = new URL('./security-groups.yaml', import.meta.url);

/** Sources that are not a security group of ours. */
export const externalSources = ['internet', 'cloudfront', 'operators'] as const;
export type ExternalSource = (typeof externalSources)[number];

/** The only place 0.0.0.0/0 may reach: the edge (the load balancer) on HTTP and HTTPS. */
export const internetMayReach = { group: 'edge', ports: [80, 443] } as const;

/** The characters AWS accepts in a security group's (and a rule's) description. */
export const awsDescription = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]+$/;

const name = z.string().regex(/^[a-z][a-z0-9-]*$/, 'a name is lower-case letters, digits and dashes');

const rule = z.strictObject({
  port: z.number().int().min(1).max(65_535),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  from: z.array(name).min(1),
  why: z.string().min(1),
});

const group = z.strictObject({
  description: z
    .string()
    .min(1)
    .max(255)
    .regex(
      awsDescription,
      'AWS takes only a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$* in a security group description',
    ),
  /**
   * The provisioning role whose `ingress` is this group's rules on the host (nftables); a list when
   * hosts of several roles are the group's members (the database: db, and Patroni's nodes).
   */
  role: z.union([name, z.array(name).min(1)]).optional(),
  /** every-host: attached to every instance besides its own group (management). */
  attach: z.enum(['every-host']).optional(),
  /**
   * For a group without hosts of ours (the ALB): the inventory var that gives the hosts its
   * addresses, so a host's firewall can name it as a source instead of admitting anywhere.
   */
  host_addresses_var: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, 'an inventory var name')
    .optional(),
  /** The replica's docker-compose services that play this group's members. */
  replica: z.array(name).default([]),
  rules: z.array(rule).default([]),
});

const replica = z.strictObject({
  /** Compose services that stand for something outside our security groups (CloudFront, Google). */
  external: z.record(name, name),
  /** Per Docker network, the groups (or external names) whose services may share it. */
  networks: z.record(name, z.array(name)),
});

export const securityGroupsSchema = z
  .strictObject({ groups: z.record(name, group), replica })
  .superRefine((source, context) => {
    const groups = Object.keys(source.groups);
    for (const [groupName, g] of Object.entries(source.groups)) {
      g.rules.forEach((r, index) => {
        const label = ruleLabel(groupName, r);
        for (const from of r.from) {
          if (!groups.includes(from) && !(externalSources as readonly string[]).includes(from)) {
            context.addIssue({
              code: 'custom',
              path: ['groups', groupName, 'rules', index, 'from'],
              message: `${label}: "${from}" is neither a group (${groups.join(', ')}) nor ${externalSources.join(', ')}`,
            });
          }
        }
        // The bad input the issue names: the database or the API (or anything but the edge's HTTP(S)) opened to the world.
        if (
          r.from.includes('internet') &&
          !(groupName === internetMayReach.group && (internetMayReach.ports as readonly number[]).includes(r.port))
        ) {
          context.addIssue({
            code: 'custom',
            path: ['groups', groupName, 'rules', index, 'from'],
            message: `${label} opens ${groupName} to the internet (0.0.0.0/0): only the ${internetMayReach.group}'s ports ${internetMayReach.ports.join(' and ')} may be`,
          });
        }
      });
      const ports = g.rules.map((r) => `${r.protocol}/${r.port}`);
      const duplicate = ports.find((port, index) => ports.indexOf(port) !== index);
      if (duplicate)
        context.addIssue({
          code: 'custom',
          path: ['groups', groupName, 'rules'],
          message: `security group ${groupName}: ${duplicate} has two rules; list every source in one`,
        });
    }
    const owners = new Map<string, string>();
    for (const [groupName, g] of Object.entries(source.groups)) {
      for (const service of g.replica) {
        const owner = owners.get(service);
        if (owner)
          context.addIssue({
            code: 'custom',
            path: ['groups', groupName, 'replica'],
            message: `replica service ${service} is in groups ${owner} and ${groupName}`,
          });
        owners.set(service, groupName);
      }
    }
  });

export type SecurityGroups = z.output<typeof securityGroupsSchema>;
export type SecurityGroup = SecurityGroups['groups'][string];
export type SecurityGroupRule = SecurityGroup['rules'][number];

/** How a rule is named in every message: "db 5432/tcp from api (PostgreSQL for the API)". */
export function ruleLabel(
  group: string,
  r: { port: number; protocol?: string; from: readonly string[]; why: string },
): string {
  return `security-group rule ${group} ${r.port}/${r.protocol ?? 'tcp'} from ${r.from.join(', ')} ("${r.why}")`;
}

export class SecurityGroupsError extends Error {
  override readonly name = 'SecurityGroupsError';
}

/** Parses and validates the source; throws naming the file, the path and every rule at fault. */
export function parseSecurityGroups(text: string, file = 'security-groups/security-groups.yaml'): SecurityGroups {
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0)
    throw new SecurityGroupsError(
      `${file}: not YAML: ${document.errors.map((error) => error.message.split('\n')[0] ?? '').join('; ')}`,
    );
  const result = securityGroupsSchema.safeParse(document.toJS());
  if (!result.success) {
    throw new SecurityGroupsError(
      `${file}: invalid security groups\n${result.error.issues.map((issue) => `  ${issue.path.join('.') || '(top)'}: ${issue.message}`).join('\n')}`,
    );
  }
  return result.data;
}

export function loadSecurityGroups(): SecurityGroups {
  return parseSecurityGroups(readFileSync(sourceFile, 'utf8'));
}

/** The provisioning roles whose ingress renders a group's rules (none, one or several). */
export const groupRoles = (group: { role?: string | readonly string[] | undefined }): readonly string[] =>
  group.role === undefined ? [] : typeof group.role === 'string' ? [group.role] : group.role;
