import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadInventory } from '../../../provision/inventories/load.js';
import { hostsOf } from '../../../provision/inventories/merge.js';
import { InventoryError } from '../../../provision/validation/yaml-file.js';
import { decryptVault, encryptVault, VaultError, vaultPassword } from '../../../provision/vault/vault.js';
import { repoRoot } from '../../support/paths.js';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'vault-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Written by Ansible itself (ansible-vault, core 2.19.11, Debian's ansible-core) with the password
// below: `ansible-vault encrypt --vault-password-file pw` and `--vault-id prod@pw`. A test value, no secret.
const testPassword = 'refereezy-unit-test';
const plaintext = 'db_password: "Tr0ub4dor&3: ünïcode"\nsmtp_token: abc123\n';
const byAnsible11 = `$ANSIBLE_VAULT;1.1;AES256
66653230613838623634656266646636393537366230633334386432623136613361396534393066
6435333536333835643834653739626437656237333866650a313830626330393862333337613434
30366365303134623331393731653134336437656232376430633765396232306466653131643265
3434393634633764340a393432653038383130663339376462653466353437623761666538623937
37643664303637356462363934363936376138663964393038326637383832396534396334646332
33396632393466393332626364653035646630613364356265663463646664313961333834633330
336536616665376535663161313266376164
`;
const byAnsible12 = `$ANSIBLE_VAULT;1.2;AES256;prod
34363736353265643532306164663765663039346263343062633366326265653137666636616566
3530336466336332353737303064626433656364343132380a646538333664373933303264316331
64646239373139303732643037376439376261376363303664653162353838613830373932333236
6665393537383762620a373263323535653464323233303339636139336234613330663833643431
62336363616537623461653038393037366638363364343163393837643265366632366434666633
38356335366266393164303464633238643837303061306139393230323462323632393235316132
663762326466363938663039306234373963
`;

/** Flips one hex digit of the ciphertext (the outer hex of the last line). */
function tampered(vault: string): string {
  const lines = vault.trimEnd().split('\n');
  const last = lines.at(-1) ?? '';
  lines[lines.length - 1] = `${last.slice(0, -1)}${last.endsWith('0') ? '1' : '0'}`;
  return `${lines.join('\n')}\n`;
}

function write(name: string, text: string, mode = 0o600): string {
  const file = path.join(dir, name);
  writeFileSync(file, text, { mode });
  chmodSync(file, mode);
  return file;
}

describe('Ansible Vault format', () => {
  it('when a file written by ansible-vault (1.1, and 1.2 with a vault id) is decrypted, then its plaintext comes back', () => {
    assert.equal(decryptVault(byAnsible11, testPassword, 'a.yaml'), plaintext);
    assert.equal(decryptVault(byAnsible12, testPassword, 'a.yaml'), plaintext);
  });

  it('when text is encrypted, then it is a 1.1 AES256 file of 80-column hex lines that decrypts back, salted anew each time', () => {
    const vault = encryptVault(plaintext, testPassword);
    const [header, ...body] = vault.split('\n');
    assert.equal(header, '$ANSIBLE_VAULT;1.1;AES256');
    assert.equal(body.at(-1), '', 'a final newline, as ansible-vault writes it');
    assert.ok(body.slice(0, -1).every((line) => /^[0-9a-f]{1,80}$/.test(line)));
    // salt (32 bytes), HMAC-SHA256 (32 bytes), ciphertext: hex lines inside the outer hex.
    const [salt, hmac, ciphertext] = Buffer.from(body.join(''), 'hex').toString('ascii').split('\n');
    assert.equal(salt?.length, 64);
    assert.equal(hmac?.length, 64);
    assert.equal((ciphertext?.length ?? 0) % 32, 0, 'PKCS#7-padded to the AES block');
    assert.equal(decryptVault(vault, testPassword, 'a.yaml'), plaintext);
    assert.notEqual(encryptVault(plaintext, testPassword), vault);
  });

  const refusals: { when: string; text: string; password: string; message: RegExp }[] = [
    {
      when: 'the password is wrong',
      text: byAnsible11,
      password: 'not it',
      message: /^cannot decrypt s\.vault\.yaml: wrong password or the file was altered$/,
    },
    {
      when: 'one digit of the ciphertext was changed',
      text: tampered(byAnsible11),
      password: testPassword,
      message: /^cannot decrypt s\.vault\.yaml: wrong password or the file was altered$/,
    },
    {
      when: 'the file is plain text',
      text: plaintext,
      password: testPassword,
      message: /^s\.vault\.yaml is not encrypted .*npm run vault -- encrypt s\.vault\.yaml$/,
    },
    {
      when: 'the header names another cipher',
      text: byAnsible11.replace('AES256', 'AES'),
      password: testPassword,
      message: /not an Ansible Vault 1\.1 or 1\.2 AES256 header/,
    },
  ];
  for (const { when, text, password, message } of refusals) {
    it(`when ${when}, then decryption is refused naming the file`, () => {
      assert.throws(
        () => decryptVault(text, password, 's.vault.yaml'),
        (error: unknown) =>
          error instanceof VaultError && message.test(error.message) && !error.message.includes('abc123'),
      );
    });
  }
});

describe('vault password', () => {
  const plainFile = write('pw', `  ${testPassword}\n\n`);
  const script = write('pw.sh', `#!/bin/sh\necho ${testPassword}-from-a-script\n`, 0o700);

  it('when --vault-password-file is given, then it wins over the environment; a file is stripped as ansible-vault strips it', () => {
    assert.equal(
      vaultPassword('s.yaml', {
        passwordFile: plainFile,
        env: { PROVISION_VAULT_PASSWORD_FILE: script, PROVISION_VAULT_PASSWORD: 'env' },
      }),
      testPassword,
    );
  });

  it('when PROVISION_VAULT_PASSWORD_FILE names an executable, then its output is the password', () => {
    assert.equal(
      vaultPassword('s.yaml', { env: { PROVISION_VAULT_PASSWORD_FILE: script, PROVISION_VAULT_PASSWORD: 'env' } }),
      `${testPassword}-from-a-script`,
    );
  });

  it('when only PROVISION_VAULT_PASSWORD is set, then it is the password', () => {
    assert.equal(vaultPassword('s.yaml', { env: { PROVISION_VAULT_PASSWORD: 'from env ' } }), 'from env ');
  });

  it('when no password is given, then the message names the vault file and where a password can come from', () => {
    assert.throws(
      () => vaultPassword('prod.vault.yaml', { env: {} }),
      /^VaultError: prod\.vault\.yaml is encrypted and no vault password was given: set PROVISION_VAULT_PASSWORD, or PROVISION_VAULT_PASSWORD_FILE \(or --vault-password-file\)/,
    );
    assert.throws(
      () => vaultPassword('prod.vault.yaml', { env: { PROVISION_VAULT_PASSWORD_FILE: write('empty', '\n') } }),
      /password file .*empty is empty/,
    );
    assert.throws(
      () => vaultPassword('prod.vault.yaml', { passwordFile: path.join(dir, 'missing') }),
      /password file .*missing cannot be read/,
    );
  });
});

describe('an inventory with a vault', () => {
  write('secrets.vault.yaml', encryptVault('db_password: from-vault\nregion: vault-region\n', testPassword));
  const inventory = write(
    'inventory.yaml',
    `bastion: { host: b.example, user: ops }
vault: secrets.vault.yaml
vars: { region: plain, db_password: plain, admin_user: admin }
groups: { db: { db_password: from-group } }
hosts:
  web1: { address: 10.0.1.10 }
  db1: { address: 10.0.3.10, groups: [db] }
  db2: { address: 10.0.3.11, groups: [db], vars: { db_password: from-host } }
`,
  );
  const withPassword = { vaultPassword: () => testPassword };

  it('when it loads, then the vault vars win over the inventory vars, and groups and hosts still override them', () => {
    const [web1, db1, db2] = hostsOf(loadInventory(inventory, withPassword));
    assert.deepEqual(web1?.vars, { region: 'vault-region', db_password: 'from-vault', admin_user: 'admin' });
    assert.equal(db1?.vars.db_password, 'from-group');
    assert.equal(db2?.vars.db_password, 'from-host');
  });

  it('when the vault password is wrong, then loading fails naming the vault file', () => {
    assert.throws(
      () => loadInventory(inventory, { vaultPassword: () => 'wrong' }),
      (error: unknown) =>
        error instanceof VaultError &&
        error.message ===
          `cannot decrypt ${path.join(dir, 'secrets.vault.yaml')}: wrong password or the file was altered`,
    );
  });

  it('when the vault holds something else than vars, then the decrypted line and the rule are named, never a value', () => {
    write('bad.vault.yaml', encryptVault('good_name: 1\nBad-Name: hunter2\n', testPassword));
    const bad = write(
      'bad-inventory.yaml',
      readFileSync(inventory, 'utf8').replace('secrets.vault.yaml', 'bad.vault.yaml'),
    );
    assert.throws(
      () => loadInventory(bad, withPassword),
      (error: unknown) =>
        error instanceof InventoryError &&
        /bad\.vault\.yaml \(decrypted\):2: Bad-Name: a variable name is snake_case/.test(error.message) &&
        !error.message.includes('hunter2'),
    );
  });

  it('when the vault file does not exist or is named by an absolute path, then the inventory is rejected', () => {
    const missing = write(
      'missing-inventory.yaml',
      readFileSync(inventory, 'utf8').replace('secrets.vault.yaml', 'nowhere.vault.yaml'),
    );
    assert.throws(
      () => loadInventory(missing, withPassword),
      (error: unknown) =>
        error instanceof InventoryError && /vault: .*nowhere\.vault\.yaml cannot be read/.test(error.message),
    );
    const absolute = write(
      'absolute-inventory.yaml',
      readFileSync(inventory, 'utf8').replace('secrets.vault.yaml', '/etc/secrets.vault.yaml'),
    );
    assert.throws(
      () => loadInventory(absolute, withPassword),
      /vault: a vault file is named relative to the inventory/,
    );
  });
});

describe('npm run vault', () => {
  /** provision/vault/cli.ts as an operator runs it, $EDITOR a script. */
  async function vault(
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'provision/vault/cli.ts', ...args], {
        cwd: repoRoot,
        env: { PATH: process.env.PATH ?? '', PROVISION_VAULT_PASSWORD: testPassword, ...env },
        timeout: 30_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }
  const editor = (name: string, script: string) => write(name, `#!/bin/sh\n${script}\n`, 0o700);
  const file = path.join(dir, 'cli.vault.yaml');

  it('when a vault is created, viewed and edited, then the file is always encrypted and the edit is kept', async () => {
    const created = await vault(['create', file], { EDITOR: editor('create.sh', `printf 'api_token: one\\n' > "$1"`) });
    assert.equal(created.code, 0, created.stderr);
    assert.match(readFileSync(file, 'utf8'), /^\$ANSIBLE_VAULT;1\.1;AES256\n/);
    assert.doesNotMatch(readFileSync(file, 'utf8'), /one/);
    assert.equal((await vault(['view', file])).stdout, 'api_token: one\n');

    const unchanged = await vault(['edit', file], { EDITOR: 'true' });
    assert.match(unchanged.stderr, /unchanged/);
    const edited = await vault(['edit', file], { EDITOR: editor('edit.sh', `sed -i 's/one/two/' "$1"`) });
    assert.equal(edited.code, 0, edited.stderr);
    assert.equal(decryptVault(readFileSync(file, 'utf8'), testPassword, file), 'api_token: two\n');
  });

  it('when an edit is not vars (and no terminal can ask again), then the vault is left as it was', async () => {
    const before = readFileSync(file, 'utf8');
    const result = await vault(['edit', file], { EDITOR: editor('bad.sh', `printf 'Not-Snake: x\\n' >> "$1"`) });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\(decrypted\):2: Not-Snake: a variable name is snake_case/);
    assert.equal(readFileSync(file, 'utf8'), before);
  });

  it('when an encrypted file is encrypted again, or the password is missing, then it fails and says why', async () => {
    assert.match((await vault(['encrypt', file])).stderr, /is already encrypted/);
    const missing = await vault(['view', file], { PROVISION_VAULT_PASSWORD: '' });
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /cli\.vault\.yaml is encrypted and no vault password was given: set PROVISION_VAULT_PASSWORD/,
    );
  });

  it('when a plain vars file is encrypted and decrypted in place, then it round-trips', async () => {
    const plain = write('plain.yaml', 'smtp_password: x\n', 0o640);
    assert.equal((await vault(['encrypt', plain])).code, 0);
    assert.match(readFileSync(plain, 'utf8'), /^\$ANSIBLE_VAULT;1\.1;AES256\n/);
    const decrypted = await vault(['decrypt', plain]);
    assert.match(decrypted.stderr, /plain text now, never commit it so/);
    assert.equal(readFileSync(plain, 'utf8'), 'smtp_password: x\n');
  });
});
