import type { Host, Inventory } from '../inventories/schema.js';
import { api } from './api/index.js';
import { bastion } from './bastion/index.js';
import { common } from './common/index.js';
import { deadman } from './deadman/index.js';
import { db } from './db/index.js';
import { monitoring } from './monitoring/index.js';
import { mail } from './mail/index.js';
import type { Play, Role } from './role.js';
import { web } from './web/index.js';

/** Every role by name. */
export function roleRegistry(): Readonly<Record<string, Role>> {
  return { common, web, bastion, mail, monitoring, api, db, deadman };
}

/** A host's roles: common everywhere, then the role named like each of its groups, when there is one. */
export function rolesOf(host: Host, tags: string[] | undefined): Role[] {
  const roles = roleRegistry();
  const names = ['common', ...host.groups.filter((group) => group in roles)];
  const selected = [...new Set(names)].filter((name) => tags === undefined || tags.includes(name));
  return selected.flatMap((name) => roles[name] ?? []);
}

/** What the roles of a play may know beyond their host: every host, the bastion, and each host's roles. */
export function playOf(hosts: readonly Host[], bastion?: Readonly<Inventory['bastion']>): Play {
  return { hosts, ...(bastion === undefined ? {} : { bastion }), rolesOf: (host) => rolesOf(host, undefined) };
}
