import { BlockList } from 'node:net';
import { z } from 'zod';
import type { Host } from '../../inventories/schema.js';
import { addressFamily, type FirewallRule, type OutboundRule, type Ruleset } from '../../operations/nftables.js';
import { playRoles, type AddressesOf, type EgressRule, type IngressRule, type Play, type Role } from '../role.js';

/** The load balancer's networks, for the special source 'edge' (the web role requires the var; here absent means none). */
const loadBalancerCidrs = z
  .array(z.string().refine((value) => addressFamily(value) !== 0, 'an IP address or network'))
  .default([]);

/** The table the common role owns on every host. */
export const firewallTable = 'refereezy';

/**
 * The addresses of groups: the inventory addresses of their hosts, 'bastion' being the bastion's
 * private address (where every SSH session through it comes from).
 */
function groupAddresses(groups: readonly string[], what: string, role: Role, host: Host, play: Play): string[] {
  return groups.flatMap((group) => {
    if (group === 'edge') {
      const cidrs = loadBalancerCidrs.safeParse(host.vars.load_balancer_cidrs);
      if (!cidrs.success)
        throw new Error(
          `host ${host.name}: role ${role.name}: ${what} the load balancer: vars.load_balancer_cidrs: ${cidrs.error.issues.map((issue) => issue.message).join('; ')}`,
        );
      return [...cidrs.data, ...play.hosts.filter((peer) => peer.groups.includes('edge')).map((peer) => peer.address)];
    }
    if (group === 'bastion') {
      const address = play.bastion?.private_address;
      if (!address)
        throw new Error(
          `host ${host.name}: role ${role.name}: ${what} the bastion, but the inventory has no bastion.private_address (the address hosts see its connections come from) and no single host in group bastion to take it from`,
        );
      return [address];
    }
    return play.hosts.filter((peer) => peer.groups.includes(group)).map((peer) => peer.address);
  });
}

function peers(
  spec: 'anywhere' | readonly string[] | AddressesOf,
  what: string,
  role: Role,
  host: Host,
  play: Play,
): 'anywhere' | readonly string[] {
  if (spec === 'anywhere') return 'anywhere';
  if (typeof spec === 'function') return spec(host, play);
  return groupAddresses(spec, what, role, host, play);
}

/** The addresses a rule admits on `host`. */
function sources(rule: IngressRule, role: Role, host: Host, play: Play): 'anywhere' | readonly string[] {
  return peers(rule.from, `port ${rule.port} admits`, role, host, play);
}

/** Whether `address` is among `list` (addresses and networks). */
function within(address: string, list: readonly string[]): boolean {
  const family = addressFamily(address);
  if (family === 0) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const blocks = new BlockList();
  for (const entry of list) {
    const entryFamily = addressFamily(entry);
    if (entryFamily !== family) continue;
    const [ip = '', prefix] = entry.split('/');
    if (prefix === undefined) blocks.addAddress(ip, type);
    else blocks.addSubnet(ip, Number(prefix), type);
  }
  return blocks.check(address.split('/')[0] ?? '', type);
}

/**
 * What `host` may open to the other hosts of the inventory: every port a peer's role admits from its
 * address (by group, as the bastion, or in a network such as the load balancer's). A port open to
 * 'anywhere' (the bastion's SSH) grants nothing: that is for the world outside, not for the hosts.
 * A peer whose inventory address is a name cannot be matched, and is not reached.
 */
function peerEgress(host: Host, play: Play): OutboundRule[] {
  const merged = new Map<string, OutboundRule & { to: string[]; names: string[] }>();
  for (const peer of play.hosts) {
    if (peer.name === host.name) continue; // its own addresses go over loopback
    for (const role of playRoles(play)(peer)) {
      for (const rule of role.ingress ?? []) {
        if (rule.from === 'anywhere') continue;
        const admitted = sources(rule, role, peer, play);
        if (admitted === 'anywhere' || !within(host.address, admitted)) continue;
        const protocol = rule.protocol ?? 'tcp';
        const key = `${protocol}/${rule.port}/${role.name}/${rule.why}`;
        const entry = merged.get(key) ?? { port: rule.port, protocol, to: [], names: [], comment: '' };
        // nftables matches addresses: a peer known by a name stays unreachable (fail closed), and the rule's comment says why.
        if (addressFamily(peer.address) === 0)
          entry.names.push(`${peer.name} (not ${peer.address}: a name, not an address)`);
        else {
          entry.to.push(peer.address);
          entry.names.push(peer.name);
        }
        entry.comment = `${role.name} on ${entry.names.join(', ')}: ${rule.why}`;
        merged.set(key, entry);
      }
    }
  }
  return [...merged.values()].map(({ port, protocol, to, comment }) => ({ port, protocol, to, comment }));
}

function roleEgress(rule: EgressRule, role: Role, host: Host, play: Play): OutboundRule {
  return {
    port: rule.port,
    protocol: rule.protocol ?? 'tcp',
    to: peers(rule.to, `egress to port ${rule.port} reaches`, role, host, play),
    comment: `${role.name}: ${rule.why}`,
  };
}

/**
 * The host's security group as an nftables ruleset: every ingress rule of each of its roles, whether
 * this run applies that role or not (--tags), with the addresses of the groups it names; and its
 * egress: what its peers' ingress admits from it, and its roles' own egress rules.
 */
export function firewallRuleset(host: Host, play: Play, roles: readonly Role[]): Ruleset {
  const rules = roles.flatMap((role) =>
    (role.ingress ?? []).map((rule): FirewallRule => ({
      port: rule.port,
      protocol: rule.protocol ?? 'tcp',
      from: sources(rule, role, host, play),
      comment: `${role.name}: ${rule.why}`,
    })),
  );
  const own = (role: Role) => (typeof role.egress === 'function' ? role.egress(host, play) : (role.egress ?? []));
  const egress = [
    ...peerEgress(host, play),
    ...roles.flatMap((role) => own(role).map((rule) => roleEgress(rule, role, host, play))),
  ];
  return {
    table: firewallTable,
    title: `The firewall of ${host.name} (${roles.map((role) => role.name).join(', ')}), rendered by the provisioning common role: edits are overwritten.`,
    rules,
    egress,
  };
}
