import type { Host } from '../inventories/schema.js';
import { api } from './api/index.js';
import { bastion } from './bastion/index.js';
import { cloudwatch, cloudwatchEnabled } from './cloudwatch/index.js';
import { common } from './common/index.js';
import { deadman } from './deadman/index.js';
import { db } from './db/index.js';
import { monitoring } from './monitoring/index.js';
import { mail } from './mail/index.js';
import type { Role } from './role.js';
import { web } from './web/index.js';

/**
 * Every role by name. A function, not a constant: the common role imports rolesOf (its firewall opens
 * the ports of a host's other roles), and a constant would be read before that cycle resolves.
 */
export function roleRegistry(): Readonly<Record<string, Role>> {
  return { common, cloudwatch, web, bastion, mail, monitoring, api, db, deadman };
}

/**
 * A host's roles: common everywhere, cloudwatch where the host names a region for its metrics, then
 * the role named like each of its groups, when there is one.
 */
export function rolesOf(host: Host, tags: string[] | undefined): Role[] {
  const roles = roleRegistry();
  const names = ['common', ...(cloudwatchEnabled(host) ? ['cloudwatch'] : []), ...host.groups.filter((group) => group in roles)];
  const selected = [...new Set(names)].filter((name) => tags === undefined || tags.includes(name));
  return selected.flatMap((name) => roles[name] ?? []);
}
