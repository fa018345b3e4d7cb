import type { Host } from './schema.js';

/** The hosts a --limit names (each a host's name or a group's), in inventory order. Unknown names are an error. */
export function limitHosts(hosts: readonly Host[], limit: readonly string[] | undefined): Host[] {
  if (limit === undefined) return [...hosts];
  const selected = hosts.filter(
    (host) => limit.includes(host.name) || host.groups.some((group) => limit.includes(group)),
  );
  const unknown = limit.filter((name) => !hosts.some((host) => host.name === name || host.groups.includes(name)));
  if (unknown.length > 0) throw new Error(`--limit names no host or group: ${unknown.join(', ')}`);
  return selected;
}
