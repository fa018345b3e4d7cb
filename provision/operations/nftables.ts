import { isIP } from 'node:net';
import { PlanError } from '../core/errors.js';
import type { NftablesFact } from '../facts/nftables.js';
import { nftablesFact } from '../facts/nftables.js';
import { contentDiffers, planFile } from './files.js';
import type { Operation, Plan } from './operation.js';
import { change, run } from './operation.js';

/** One inbound rule, its sources resolved to addresses. */
export interface FirewallRule {
  port: number;
  protocol: 'tcp' | 'udp';
  /** 'anywhere', or IPv4/IPv6 addresses and networks (10.0.0.0/24); none: nothing is admitted (the rule stays in the file as a comment). */
  from: 'anywhere' | readonly string[];
  /** Why the port is open: the rule's comment in the ruleset (`nft list ruleset` shows it). */
  comment: string;
}

/** One outbound rule, its destinations resolved to addresses. */
export interface OutboundRule {
  port: number;
  protocol: 'tcp' | 'udp';
  /** 'anywhere', or IPv4/IPv6 addresses and networks; none: nothing is allowed (a comment). */
  to: 'anywhere' | readonly string[];
  comment: string;
}

export interface Ruleset {
  /** The one table the ruleset owns (`inet <table>`): other tables (Docker's, …) are left alone. */
  table: string;
  /** The first comment line of the file: whose ruleset it is. */
  title: string;
  rules: readonly FirewallRule[];
  /** Outbound: what the host may open; everything else is dropped. Absent: outbound is free. */
  egress?: readonly OutboundRule[];
}

/** An address or a network (address/prefix): its IP version, 0 when it is neither. */
export function addressFamily(address: string): 0 | 4 | 6 {
  const [ip = '', prefix, ...rest] = address.split('/');
  const family = isIP(ip);
  if (family === 0 || rest.length > 0) return 0;
  if (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128))) return 0;
  return family as 4 | 6;
}

const identifier = /^[a-z][a-z0-9_]*$/;
/** nftables keeps at most 128 bytes of a comment. */
const commentBytes = 128;

function quoted(comment: string): string {
  let text = comment.replace(/["\\\n\r]/g, (char) => (char === '"' ? "'" : ' '));
  if (Buffer.byteLength(text) <= commentBytes) return `"${text}"`;
  while (Buffer.byteLength(`${text}…`) > commentBytes) text = text.slice(0, -1);
  return `"${text}…"`;
}

function ruleLines(
  rule: { port: number; protocol: 'tcp' | 'udp'; comment: string },
  peers: 'anywhere' | readonly string[],
  direction: 'saddr' | 'daddr',
): string[] {
  if (!Number.isInteger(rule.port) || rule.port < 1 || rule.port > 65_535)
    throw new PlanError('', `port ${rule.port} is not a port number`);
  const match = `${rule.protocol} dport ${rule.port}`;
  const comment = `comment ${quoted(rule.comment)}`;
  if (peers === 'anywhere') return [`${match} accept ${comment}`];
  const invalid = peers.filter((address) => addressFamily(address) === 0);
  if (invalid.length > 0)
    throw new PlanError(
      '',
      `${rule.protocol}/${rule.port}: the ruleset takes IP addresses and networks only, not ${invalid.join(', ')}`,
    );
  const set = (addresses: string[]) => (addresses.length === 1 ? (addresses[0] ?? '') : `{ ${addresses.join(', ')} }`);
  const v4 = [...new Set(peers.filter((address) => addressFamily(address) === 4))];
  const v6 = [...new Set(peers.filter((address) => addressFamily(address) === 6))];
  if (v4.length === 0 && v6.length === 0)
    return [
      `# ${match}: no host to ${direction === 'saddr' ? 'admit' : 'reach'} (${rule.comment.replace(/\n/g, ' ')})`,
    ];
  return [
    ...(v4.length > 0 ? [`ip ${direction} ${set(v4)} ${match} accept ${comment}`] : []),
    ...(v6.length > 0 ? [`ip6 ${direction} ${set(v6)} ${match} accept ${comment}`] : []),
  ];
}

/**
 * A host's firewall as an nftables script: inbound is dropped unless it answers a connection the host
 * opened, comes over loopback, is ICMP, or matches a rule; nothing is forwarded; outbound (when the
 * ruleset has egress rules) is refused unless it belongs to an established connection, goes over
 * loopback, is ICMP, or matches a rule (rejected, counted: a local connect fails at once instead of
 * hanging). The table is declared, deleted and declared again, so loading the file replaces exactly
 * this table, in one transaction.
 */
export function renderRuleset(ruleset: Ruleset): string {
  if (!identifier.test(ruleset.table)) throw new PlanError('', `"${ruleset.table}" is not an nftables table name`);
  const rules = ruleset.rules.flatMap((rule) => ruleLines(rule, rule.from, 'saddr'));
  const output =
    ruleset.egress === undefined
      ? []
      : [
          '',
          '\tchain output {',
          '\t\ttype filter hook output priority filter; policy drop;',
          '\t\tct state established,related accept comment "connections already allowed, and replies to those others opened"',
          '\t\tct state invalid drop comment "packets no connection explains"',
          '\t\toif "lo" accept comment "loopback (the host\'s own addresses too)"',
          '\t\tmeta l4proto { icmp, ipv6-icmp } accept comment "ICMP: ping, path MTU discovery, IPv6 neighbour discovery"',
          ...ruleset.egress.flatMap((rule) => ruleLines(rule, rule.to, 'daddr')).map((line) => `\t\t${line}`),
          // Rejected, not dropped: a local program's connect fails at once ("No route to host") instead of hanging.
          '\t\tcounter reject with icmpx type admin-prohibited comment "refused: no egress rule allows it"',
          '\t}',
        ];
  return [
    '#!/usr/sbin/nft -f',
    `# ${ruleset.title.replace(/\n/g, ' ')}`,
    `# Only the table inet ${ruleset.table} is managed: \`nft -f\` replaces it, and no other table, atomically.`,
    `table inet ${ruleset.table}`,
    `delete table inet ${ruleset.table}`,
    '',
    `table inet ${ruleset.table} {`,
    '\tchain input {',
    '\t\ttype filter hook input priority filter; policy drop;',
    '\t\tct state established,related accept comment "replies to connections this host opened"',
    '\t\tct state invalid drop comment "packets no connection explains"',
    '\t\tiif "lo" accept comment "loopback"',
    '\t\tmeta l4proto { icmp, ipv6-icmp } accept comment "ICMP: ping, path MTU discovery, IPv6 neighbour discovery"',
    ...rules.map((line) => `\t\t${line}`),
    '\t}',
    '',
    '\tchain forward {',
    '\t\ttype filter hook forward priority filter; policy drop; comment "a host is not a router"',
    '\t}',
    ...output,
    '}',
    '',
  ].join('\n');
}

export interface NftablesDesired {
  /** /etc/nftables.conf: what nftables.service loads at boot. */
  path: string;
  /** The table the content manages (renderRuleset's). */
  table: string;
  content: string;
}

const mode = '0755';

/**
 * The ruleset file, checked by `nft -c` before it replaces the old one (its reload is the role's
 * handler, notified by this task's change), and loaded now when the file is right but the kernel
 * lacks its table (flushed by hand, or never loaded).
 */
export function planNftables(desired: NftablesDesired, current: NftablesFact): Plan {
  // The kernel checks the ruleset (nft -c) on the temporary file: a ruleset nft rejects never becomes the one loaded at the next boot or reload.
  const file = { path: desired.path, content: desired.content, mode, validate: 'nft -c -f %s' };
  const plan = planFile(file, current.file);
  if (contentDiffers(file, current.file)) return plan;
  if (!current.loaded) {
    return change(
      `${plan.changed ? `${plan.reason}; ` : ''}load ${desired.path}: the kernel has no table inet ${desired.table}`,
      [...plan.commands, run('nft', '-f', desired.path)],
    );
  }
  if (plan.changed) return plan;
  return { ...plan, reason: `${plan.reason}, table inet ${desired.table} loaded` };
}

/** An nftables ruleset file, checked before it is installed, and its table loaded. */
export function nftables(desired: NftablesDesired): Operation<NftablesFact> {
  if (!desired.path.startsWith('/')) throw new PlanError('', `"${desired.path}" is not an absolute path`);
  if (!identifier.test(desired.table)) throw new PlanError('', `"${desired.table}" is not an nftables table name`);
  return { fact: nftablesFact(desired.path, desired.table), plan: (current) => planNftables(desired, current) };
}
