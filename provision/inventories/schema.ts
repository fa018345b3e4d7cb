import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';

/** Variables a role reads: free-form per key, but always a mapping of names. */
const vars = z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'a variable name is snake_case'), z.unknown());

const hostName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a name is lower-case letters, digits and dashes');
/** A DNS name or an IPv4/IPv6 address: nothing that a shell or ssh would read as an option. */
const address = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.:-]*$/, 'an address is a host name or an IP address');
const port = z.number().int().min(1).max(65_535);
const user = z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'a user name is a POSIX login name');

export const inventorySchema = z
  .strictObject({
    /** The one SSH entry: every host is reached through it (ProxyJump). */
    bastion: z.strictObject({ host: address, port: port.default(22), user }),
    /** The user the provisioner logs in as on every host (sudo without a password). */
    user: user.default('admin'),
    hosts: z.record(hostName, z.strictObject({ address, port: port.default(22), groups: z.array(hostName).default([]), vars: vars.default({}) })),
    groups: z.record(hostName, vars).default({}),
    vars: vars.default({}),
  })
  .superRefine((inventory, context) => {
    for (const [name, host] of Object.entries(inventory.hosts)) {
      host.groups.forEach((group, index) => {
        if (!(group in inventory.groups)) {
          context.addIssue({ code: 'custom', path: ['hosts', name, 'groups', index], message: `group "${group}" is not declared under groups:` });
        }
      });
    }
    if (Object.keys(inventory.hosts).length === 0) context.addIssue({ code: 'custom', path: ['hosts'], message: 'an inventory names at least one host' });
  });

export type Inventory = z.output<typeof inventorySchema>;

export interface Host {
  name: string;
  address: string;
  port: number;
  groups: string[];
  /** Inventory vars, then each group's in the host's order, then the host's own: the last wins. */
  vars: Record<string, unknown>;
}

/** One problem in an inventory file, where it is and why. */
export interface InventoryIssue {
  /** "hosts.web1.port" */
  path: string;
  /** 1-based line in the file, when the path exists there. */
  line?: number;
  message: string;
}

export class InventoryError extends Error {
  constructor(
    readonly file: string,
    readonly issues: InventoryIssue[],
  ) {
    super(`${file}: invalid inventory\n${issues.map((issue) => `  ${file}${issue.line ? `:${issue.line}` : ''}: ${issue.path || '(top)'}: ${issue.message}`).join('\n')}`);
    this.name = 'InventoryError';
  }
}

export interface LoadedInventory extends Inventory {
  file: string;
}

/** provision/inventories/<name>.yaml for a bare name, else the path as given. */
export function resolveInventoryPath(nameOrPath: string): string {
  if (/^[a-z0-9-]+$/.test(nameOrPath)) return path.join(import.meta.dirname, `${nameOrPath}.yaml`);
  return path.resolve(nameOrPath);
}

/** Parses and validates an inventory; throws InventoryError naming the file, the path and the reason. */
export function parseInventory(text: string, file: string): LoadedInventory {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new InventoryError(
      file,
      document.errors.map((error) => ({ path: '', line: lineCounter.linePos(error.pos[0]).line, message: error.message.split('\n')[0] ?? 'not YAML' })),
    );
  }
  const result = inventorySchema.safeParse(document.toJS());
  if (!result.success) {
    throw new InventoryError(
      file,
      result.error.issues.map((issue) => {
        const keys = issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key));
        // The deepest node of the path that the file has, for its line.
        let line: number | undefined;
        for (let depth = keys.length; depth >= 0 && line === undefined; depth--) {
          const node = document.getIn(keys.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
          if (node?.range) line = lineCounter.linePos(node.range[0]).line;
        }
        return { path: keys.join('.'), ...(line === undefined ? {} : { line }), message: issue.message };
      }),
    );
  }
  return { ...result.data, file };
}

export function loadInventory(file: string): LoadedInventory {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InventoryError(file, [{ path: '', message: `cannot be read: ${(error as Error).message}` }]);
  }
  return parseInventory(text, file);
}

/** Every host with its merged vars, in inventory order. */
export function hostsOf(inventory: Inventory): Host[] {
  return Object.entries(inventory.hosts).map(([name, host]) => ({
    name,
    address: host.address,
    port: host.port,
    groups: host.groups,
    vars: Object.assign({}, inventory.vars, ...host.groups.map((group) => inventory.groups[group] ?? {}), host.vars) as Record<string, unknown>,
  }));
}

/** The hosts a --limit names: a host's name or a group's. Unknown names are an error. */
export function limitHosts(hosts: Host[], limit: string | undefined): Host[] {
  if (limit === undefined) return hosts;
  const names = limit.split(',').map((name) => name.trim());
  const selected = hosts.filter((host) => names.includes(host.name) || host.groups.some((group) => names.includes(group)));
  const unknown = names.filter((name) => !hosts.some((host) => host.name === name || host.groups.includes(name)));
  if (unknown.length > 0) throw new Error(`--limit names no host or group: ${unknown.join(', ')}`);
  return selected;
}
