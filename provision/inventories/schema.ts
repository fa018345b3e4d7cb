import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { decryptVault, vaultPassword } from '../vault/vault.js';

/** Variables a role reads: free-form per key, but always a mapping of names. */
export const vars = z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'a variable name is snake_case'), z.unknown());

const hostName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a name is lower-case letters, digits and dashes');
/** A DNS name or an IPv4/IPv6 address: nothing that a shell or ssh would read as an option. */
const address = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.:-]*$/, 'an address is a host name or an IP address');
const port = z.number().int().min(1).max(65_535);
const user = z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'a user name is a POSIX login name');

export const inventorySchema = z
  .strictObject({
    /** The one SSH entry: every host is reached through it (ProxyJump). */
    bastion: z.strictObject({
      host: address,
      port: port.default(22),
      user,
      /** The address the hosts see the bastion's connections come from (its private IP): the only source SSH admits. */
      private_address: address.optional(),
    }),
    /** The user the provisioner logs in as on every host (sudo without a password). */
    user: user.default('admin'),
    hosts: z.record(
      hostName,
      // zone: the availability zone Terraform placed the host in (npm run inventory:from-terraform).
      z.strictObject({ address, port: port.default(22), groups: z.array(hostName).default([]), zone: z.string().regex(/^[a-z0-9-]+$/, 'a zone such as eu-west-1a').optional(), vars: vars.default({}) }),
    ),
    groups: z.record(hostName, vars).default({}),
    vars: vars.default({}),
    /**
     * An Ansible Vault file of vars (the secrets), relative to this file: decrypted at load time, its
     * vars win over `vars:` above; groups' and hosts' vars still override them.
     */
    vault: z
      .string()
      .regex(/^[^/]/, 'a vault file is named relative to the inventory')
      .optional(),
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
    /** What the file should have been. */
    what = 'inventory',
  ) {
    super(`${file}: invalid ${what}\n${issues.map((issue) => `  ${file}${issue.line ? `:${issue.line}` : ''}: ${issue.path || '(top)'}: ${issue.message}`).join('\n')}`);
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

/** YAML parsed with line numbers, or the InventoryError of its syntax errors. */
function parseYaml(text: string, file: string, what: string): { document: Document.Parsed; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new InventoryError(
      file,
      document.errors.map((error) => ({ path: '', line: lineCounter.linePos(error.pos[0]).line, message: error.message.split('\n')[0] ?? 'not YAML' })),
      what,
    );
  }
  return { document, lineCounter };
}

/** Zod's issues, each with the line of the deepest node of its path that the file has. */
function issuesOf(issues: readonly z.core.$ZodIssue[], document: Document.Parsed, lineCounter: LineCounter): InventoryIssue[] {
  return issues.map((issue) => {
    const keys = issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key));
    let line: number | undefined;
    for (let depth = keys.length; depth >= 0 && line === undefined; depth--) {
      const node = document.getIn(keys.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) line = lineCounter.linePos(node.range[0]).line;
    }
    // A bad record key: the key's own rule says why ("a variable name is snake_case").
    const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    return { path: keys.join('.'), ...(line === undefined ? {} : { line }), message };
  });
}

/** Parses and validates an inventory; throws InventoryError naming the file, the path and the reason. */
export function parseInventory(text: string, file: string): LoadedInventory {
  const { document, lineCounter } = parseYaml(text, file, 'inventory');
  const result = inventorySchema.safeParse(document.toJS());
  if (!result.success) throw new InventoryError(file, issuesOf(result.error.issues, document, lineCounter));
  return { ...result.data, file };
}

/**
 * A vault's decrypted text as vars (a mapping of snake_case names; empty is {}). Errors give the file
 * and the line of the decrypted text (what `npm run vault -- view` shows), never a value.
 */
export function parseVaultVars(plaintext: string, file: string): Record<string, unknown> {
  const { document, lineCounter } = parseYaml(plaintext, `${file} (decrypted)`, 'vault vars');
  const result = vars.safeParse(document.toJS() ?? {});
  if (!result.success) throw new InventoryError(`${file} (decrypted)`, issuesOf(result.error.issues, document, lineCounter), 'vault vars');
  return result.data;
}

export interface LoadOptions {
  /** The password of the inventory's vault, asked for only when it names one (default: from the environment, see vault/vault.ts). */
  vaultPassword?: (vaultFile: string) => string;
}

/** Reads and validates an inventory without opening its vault: for what needs none of its secrets. */
export function readInventory(file: string): LoadedInventory {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InventoryError(file, [{ path: '', message: `cannot be read: ${(error as Error).message}` }]);
  }
  return parseInventory(text, file);
}

/** Reads, validates and (when it names a vault) decrypts an inventory: nothing has connected yet. */
export function loadInventory(file: string, options: LoadOptions = {}): LoadedInventory {
  const inventory = readInventory(file);
  if (inventory.vault === undefined) return inventory;
  const vaultFile = path.resolve(path.dirname(file), inventory.vault);
  let encrypted: string;
  try {
    encrypted = readFileSync(vaultFile, 'utf8');
  } catch (error) {
    throw new InventoryError(file, [{ path: 'vault', message: `${vaultFile} cannot be read: ${(error as Error).message}` }]);
  }
  const password = (options.vaultPassword ?? ((name) => vaultPassword(name)))(vaultFile);
  const secrets = parseVaultVars(decryptVault(encrypted, password, vaultFile), vaultFile);
  return { ...inventory, vars: { ...inventory.vars, ...secrets } };
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
