// Ansible Vault files (format 1.1, and 1.2 with a vault id, both AES256): operators already have
// `ansible-vault` and its habits, and the format is documented and stable. The cryptography is the
// `ansible-vault` npm package's (PBKDF2-SHA256 with 10,000 iterations over a 32-byte salt → an
// AES-256-CTR key, an HMAC-SHA256 key and the counter block; the HMAC checked before decrypting);
// tests/unit/provision/vault.test.ts decrypts a file written by Ansible itself.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { Vault } from 'ansible-vault';

export const vaultHeader = '$ANSIBLE_VAULT;';

/** A vault that cannot be opened: no password, a wrong one, or an altered file. Names the file. */
export class VaultError extends Error {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VaultError';
  }
}

export function isEncrypted(text: string): boolean {
  return text.trimStart().startsWith(vaultHeader);
}

/** The text as an Ansible Vault 1.1 file (as `ansible-vault encrypt` writes it, final newline included). */
export function encryptVault(plaintext: string, password: string): string {
  if (password === '') throw new Error('a vault password cannot be empty');
  return `${new Vault({ password }).encryptSync(plaintext, '')}\n`;
}

/** The plaintext of an Ansible Vault file; a wrong password and an altered file are one error (the HMAC cannot tell them apart). */
export function decryptVault(text: string, password: string, file: string): string {
  if (!isEncrypted(text))
    throw new VaultError(
      file,
      `${file} is not encrypted (no ${vaultHeader} header): encrypt it with npm run vault -- encrypt ${file}`,
    );
  const [header = ''] = text.trimStart().split(/\r?\n/, 1);
  if (!/^\$ANSIBLE_VAULT;1\.[12];AES256(;[^;\s]+)?\s*$/.test(header)) {
    throw new VaultError(
      file,
      `cannot decrypt ${file}: "${header.slice(0, 60)}" is not an Ansible Vault 1.1 or 1.2 AES256 header`,
    );
  }
  try {
    const plaintext = new Vault({ password }).decryptSync(text.trim(), undefined);
    if (plaintext === undefined) throw new Error('no plaintext');
    return plaintext;
  } catch (error) {
    throw new VaultError(file, `cannot decrypt ${file}: wrong password or the file was altered`, { cause: error });
  }
}

export interface VaultPasswordSources {
  /** --vault-password-file */
  passwordFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** Where a password can come from, for the message that says none was given. */
export const passwordSources =
  'set PROVISION_VAULT_PASSWORD, or PROVISION_VAULT_PASSWORD_FILE (or --vault-password-file) to a file holding it';

/**
 * The vault password: --vault-password-file, else the file PROVISION_VAULT_PASSWORD_FILE names,
 * else PROVISION_VAULT_PASSWORD. A password file is read as ansible-vault reads it: surrounding
 * whitespace stripped, and an executable file is run and its output taken (a script that asks a
 * password manager). `vaultFile` is the file that needs it, for the messages.
 */
export function vaultPassword(
  vaultFile: string,
  { passwordFile, env = process.env }: VaultPasswordSources = {},
): string {
  const file = passwordFile ?? env.PROVISION_VAULT_PASSWORD_FILE;
  let password: string;
  if (file !== undefined && file !== '') {
    try {
      const executable = (statSync(file).mode & 0o111) !== 0;
      password = (
        executable
          ? execFileSync(file, { encoding: 'utf8', stdio: ['inherit', 'pipe', 'inherit'] })
          : readFileSync(file, 'utf8')
      ).trim();
    } catch (error) {
      throw new VaultError(
        vaultFile,
        `${vaultFile} is encrypted and its password file ${file} cannot be read: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (password === '')
      throw new VaultError(vaultFile, `${vaultFile} is encrypted and its password file ${file} is empty`);
    return password;
  }
  password = env.PROVISION_VAULT_PASSWORD ?? '';
  if (password === '')
    throw new VaultError(vaultFile, `${vaultFile} is encrypted and no vault password was given: ${passwordSources}`);
  return password;
}
