import { vars } from '../validation/validators.js';
import { InventoryError, issuesOf, parseYaml } from '../validation/yaml-file.js';

/**
 * A vault's decrypted text as vars (a mapping of snake_case names; empty is {}). Errors give the file
 * and the line of the decrypted text (what `npm run vault -- view` shows), never a value.
 */
export function parseVaultVars(plaintext: string, file: string): Record<string, unknown> {
  const { document, lineCounter } = parseYaml(plaintext, `${file} (decrypted)`, 'vault vars');
  const result = vars.safeParse(document.toJS() ?? {});
  if (!result.success)
    throw new InventoryError(`${file} (decrypted)`, issuesOf(result.error.issues, document, lineCounter), 'vault vars');
  return result.data;
}
