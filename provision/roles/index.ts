import type { Host } from '../inventories/schema.js';
import { common } from './common/index.js';
import type { Role } from './role.js';

export const roles: Record<string, Role> = { common };

/** A host's roles: common everywhere, then the role named like each of its groups, when there is one. */
export function rolesOf(host: Host, tags: string[] | undefined): Role[] {
  const names = ['common', ...host.groups.filter((group) => group in roles)];
  const selected = [...new Set(names)].filter((name) => tags === undefined || tags.includes(name));
  return selected.flatMap((name) => roles[name] ?? []);
}
