import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InventoryError, issuesOf, parseYaml } from '../validation/yaml-file.js';
import { decryptVault, vaultPassword } from '../vault/vault.js';
import { parseVaultVars } from '../vault/vault-vars.js';
import { inventorySchema, type LoadedInventory } from './schema.js';

/** provision/inventories/<name>.yaml for a bare name, else the path as given. */
export function resolveInventoryPath(nameOrPath: string): string {
  if (/^[a-z0-9-]+$/.test(nameOrPath)) return path.join(import.meta.dirname, `${nameOrPath}.yaml`);
  return path.resolve(nameOrPath);
}

/** Parses and validates an inventory; throws InventoryError naming the file, the path and the reason. */
export function parseInventory(text: string, file: string): LoadedInventory {
  const { document, lineCounter } = parseYaml(text, file, 'inventory');
  const result = inventorySchema.safeParse(document.toJS());
  if (!result.success) throw new InventoryError(file, issuesOf(result.error.issues, document, lineCounter));
  return { ...result.data, file };
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
    throw new InventoryError(file, [
      { path: 'vault', message: `${vaultFile} cannot be read: ${(error as Error).message}` },
    ]);
  }
  const password = (options.vaultPassword ?? ((name) => vaultPassword(name)))(vaultFile);
  const secrets = parseVaultVars(decryptVault(encrypted, password, vaultFile), vaultFile);
  return { ...inventory, vars: { ...inventory.vars, ...secrets } };
}
