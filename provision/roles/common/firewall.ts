import type { Host } from '../../inventories/schema.js';
import type { FirewallRule, Ruleset } from '../../operations/nftables.js';
import type { IngressRule, Play, Role } from '../role.js';

/** The table the common role owns on every host. */
export const firewallTable = 'refereezy';

/**
 * The addresses a rule admits: 'anywhere', or the inventory addresses of the hosts in its groups,
 * 'bastion' being the bastion's private address (where every SSH session through it comes from).
 */
function sources(rule: IngressRule, role: Role, host: Host, play: Play): FirewallRule['from'] {
  if (rule.from === 'anywhere') return 'anywhere';
  return rule.from.flatMap((group) => {
    if (group === 'bastion') {
      const address = play.bastion?.private_address;
      if (!address) throw new Error(`host ${host.name}: role ${role.name}: port ${rule.port} admits the bastion, but the inventory has no bastion.private_address (the address hosts see its connections come from)`);
      return [address];
    }
    return play.hosts.filter((peer) => peer.groups.includes(group)).map((peer) => peer.address);
  });
}

/**
 * The host's security group as an nftables ruleset: every ingress rule of each of its roles, whether
 * this run applies that role or not (--tags), with the addresses of the groups it names.
 */
export function firewallRuleset(host: Host, play: Play, roles: readonly Role[]): Ruleset {
  const rules = roles.flatMap((role) =>
    (role.ingress ?? []).map((rule): FirewallRule => ({ port: rule.port, protocol: rule.protocol ?? 'tcp', from: sources(rule, role, host, play), comment: `${role.name}: ${rule.why}` })),
  );
  return { table: firewallTable, title: `The firewall of ${host.name} (${roles.map((role) => role.name).join(', ')}), rendered by the provisioning common role: edits are overwritten.`, rules };
}
