import type { Host, Inventory } from '../inventories/schema.js';
import { api } from './api/index.js';
import { bastion } from './bastion/index.js';
import { cloudwatch, cloudwatchEnabled } from './cloudwatch/index.js';
import { common } from './common/index.js';
import { deadman } from './deadman/index.js';
import { db } from './db/index.js';
import { etcd } from './etcd/index.js';
import { patroni } from './patroni/index.js';
import { monitoring } from './monitoring/index.js';
import { mail } from './mail/index.js';
import type { Play, Role } from './role.js';
import { web } from './web/index.js';

/** Every role by name. */
export function roleRegistry(): Readonly<Record<string, Role>> {
  return { common, cloudwatch, web, bastion, mail, monitoring, api, db, deadman, etcd, patroni };
}

/**
 * A host's roles: common everywhere, cloudwatch where the host names a region for its metrics, then
 * the role named like each of its groups, when there is one.
 */
export function rolesOf(host: Host, tags: string[] | undefined): Role[] {
  const roles = roleRegistry();
  const names = [
    'common',
    ...(cloudwatchEnabled(host) ? ['cloudwatch'] : []),
    ...host.groups.filter((group) => group in roles),
  ];
  const selected = [...new Set(names)].filter((name) => tags === undefined || tags.includes(name));
  return selected.flatMap((name) => roles[name] ?? []);
}

/** What the roles of a play may know beyond their host: every host, the bastion, and each host's roles. */
export function playOf(hosts: readonly Host[], bastion?: Readonly<Inventory['bastion']>): Play {
  return {
    hosts,
    ...(bastion === undefined ? {} : { bastion: withPrivateAddress(bastion, hosts) }),
    rolesOf: (host) => rolesOf(host, undefined),
  };
}

/**
 * The bastion's private address (the source every host admits SSH from): the inventory's
 * `bastion.private_address` when it names one, else the address of the host in group bastion (the
 * bastion converged as a host is reached at its private address), when there is exactly one.
 */
function withPrivateAddress(
  bastion: Readonly<Inventory['bastion']>,
  hosts: readonly Host[],
): Readonly<Inventory['bastion']> {
  if (bastion.private_address !== undefined) return bastion;
  const candidates = hosts.filter((host) => host.groups.includes('bastion'));
  const [only] = candidates;
  return candidates.length === 1 && only ? { ...bastion, private_address: only.address } : bastion;
}
