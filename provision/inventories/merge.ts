import type { Host, Inventory } from './schema.js';

/** Every host with its merged vars, in inventory order. */
export function hostsOf(inventory: Inventory): Host[] {
  return Object.entries(inventory.hosts).map(([name, host]) => ({
    name,
    address: host.address,
    port: host.port,
    groups: host.groups,
    vars: Object.assign(
      {},
      inventory.vars,
      ...host.groups.map((group) => inventory.groups[group] ?? {}),
      host.vars,
    ) as Record<string, unknown>,
  }));
}
