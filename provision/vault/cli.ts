// npm run vault -- <create|edit|view|encrypt|decrypt> FILE [--vault-password-file FILE]
// The inventory's secrets, as ansible-vault handles them (the files are interchangeable with it).
// The password: --vault-password-file, PROVISION_VAULT_PASSWORD_FILE or PROVISION_VAULT_PASSWORD.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { InventoryError } from '../validation/yaml-file.js';
import { parseVaultVars } from './vault-vars.js';
import { decryptVault, encryptVault, isEncrypted, VaultError, vaultPassword } from './vault.js';

const usage = 'usage: npm run vault -- <create|edit|view|encrypt|decrypt> FILE [--vault-password-file FILE]';
const actions = ['create', 'edit', 'view', 'encrypt', 'decrypt'] as const;
type Action = (typeof actions)[number];

class UsageError extends Error {}

const template = `# Secrets: vars merged into the inventory's (they win over its vars:; groups and hosts still override).
# snake_case names, YAML values. Example:
# db_password: "…"
`;

/** Replaces the file in one rename, keeping its mode (0600 for a new one). */
function writeAtomically(file: string, text: string): void {
  const mode = existsSync(file) ? statSync(file).mode & 0o777 : 0o600;
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(temporary, text, { mode });
  renameSync(temporary, file);
}

/** Fails (naming the file and the line) unless the text is what the inventory can load: vars. */
function checkVars(plaintext: string, file: string): void {
  parseVaultVars(plaintext, file);
}

async function askYes(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const readline = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return !/^n/i.test(await readline.question(question));
  } finally {
    readline.close();
  }
}

/**
 * The operator's $EDITOR (vi by default) on a copy of the plaintext in a private directory (in
 * memory, /dev/shm, where there is one), removed afterwards; edited again while the result is not vars.
 * Returns the new plaintext, or undefined when nothing changed.
 */
async function editInEditor(plaintext: string, file: string): Promise<string | undefined> {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const directory = mkdtempSync(path.join(base, 'refereezy-vault-'));
  const copy = path.join(directory, path.basename(file).replace(/(\.ya?ml)?$/, '.yaml'));
  // Ctrl-C, a closed terminal: the editor ends, and the plaintext copy is still removed below.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const carryOn = () => undefined;
  for (const signal of signals) process.on(signal, carryOn);
  try {
    writeFileSync(copy, plaintext, { mode: 0o600 });
    for (;;) {
      // $EDITOR may carry arguments ("code --wait"): the shell splits it, the file stays one word ($1).
      const editor = spawnSync('sh', ['-c', '${EDITOR:-vi} "$1"', 'sh', copy], { stdio: 'inherit' });
      if (editor.status !== 0)
        throw new VaultError(
          file,
          `the editor exited with ${editor.status ?? editor.signal ?? '?'}: ${file} left as it was`,
        );
      const edited = readFileSync(copy, 'utf8');
      if (edited === plaintext) return undefined;
      try {
        checkVars(edited, file);
        return edited;
      } catch (error) {
        if (!(error instanceof InventoryError)) throw error;
        process.stderr.write(`${error.message}\n`);
        if (!(await askYes('Edit again? [Y/n] '))) throw new VaultError(file, `${file} left as it was`);
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
    for (const signal of signals) process.off(signal, carryOn);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'vault-password-file': { type: 'string' }, help: { type: 'boolean', default: false } },
  });
  const [action, name] = positionals;
  if (values.help || positionals.length !== 2 || !actions.includes(action as Action) || name === undefined)
    throw new UsageError(usage);
  // Paths as the operator typed them, from where `npm run` was typed (npm itself runs in the repo's root).
  const here = process.env.INIT_CWD ?? process.cwd();
  const file = path.relative(process.cwd(), path.resolve(here, name)) || name;
  const passwordFile =
    values['vault-password-file'] === undefined ? undefined : path.resolve(here, values['vault-password-file']);
  const password = () => vaultPassword(file, { passwordFile });
  const text = (action as Action) === 'create' ? '' : readFileSync(file, 'utf8');

  switch (action as Action) {
    case 'create': {
      if (existsSync(file)) throw new UsageError(`${file} exists: npm run vault -- edit ${file}`);
      const secret = password();
      const plaintext = await editInEditor(template, file);
      if (plaintext === undefined) throw new VaultError(file, `nothing written: ${file} was left as the template`);
      writeAtomically(file, encryptVault(plaintext, secret));
      process.stderr.write(`${file} created (encrypted)\n`);
      break;
    }
    case 'edit': {
      const secret = password();
      const plaintext = await editInEditor(decryptVault(text, secret, file), file);
      if (plaintext === undefined) {
        process.stderr.write(`${file} unchanged\n`);
        break;
      }
      writeAtomically(file, encryptVault(plaintext, secret));
      process.stderr.write(`${file} saved (encrypted)\n`);
      break;
    }
    case 'view':
      process.stdout.write(decryptVault(text, password(), file));
      break;
    case 'encrypt':
      if (isEncrypted(text)) throw new VaultError(file, `${file} is already encrypted`);
      checkVars(text, file);
      writeAtomically(file, encryptVault(text, password()));
      process.stderr.write(`${file} encrypted\n`);
      break;
    case 'decrypt':
      writeAtomically(file, decryptVault(text, password(), file));
      process.stderr.write(
        `${file} decrypted: it is plain text now, never commit it so (npm run vault -- encrypt ${file})\n`,
      );
      break;
  }
}

main().catch((error: unknown) => {
  const known =
    error instanceof VaultError ||
    error instanceof InventoryError ||
    error instanceof UsageError ||
    (error as NodeJS.ErrnoException).code === 'ENOENT';
  process.stderr.write(
    `${known ? (error as Error).message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
