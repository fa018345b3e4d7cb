// npm run backup -- <replica|inventory> <backup|backups|restore|verify> [options]
// The operators' backup commands, one code path for the replica (docker compose, in this repo) and
// an inventory's db host (through its bastion, with the provisioning connector). See
// docs/runbooks/restore.md.
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Bastion } from '../connectors/ssh.js';
import { ProvisionError } from '../core/errors.js';
import { InventoryError } from '../validation/yaml-file.js';
import { limitHosts } from '../inventories/limit.js';
import { loadInventory, resolveInventoryPath } from '../inventories/load.js';
import { hostsOf } from '../inventories/merge.js';
import { vaultPassword, VaultError } from '../vault/vault.js';
import { HostDb, ReplicaDb, type DbTarget } from './db-target.js';
import { formatBackups, parseInfo } from './info.js';
import { parseCommand, UsageError, type BackupCommand } from './options.js';
import { planRestore, RefusedError } from './restore-plan.js';
import { promptHidden, resolveIdentity } from '../connectors/identity.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const regions = { 1: 'eu-west-1', 2: 'eu-central-1' };

/** The failure of a command on the target: its name, what ran, and the tail of what it said. */
export class BackupCommandError extends Error {}

/** A value of the replica's .env (or the environment, which wins, as for docker compose). */
function replicaSetting(name: string): string | undefined {
  // As for docker compose: a variable set in the environment wins over .env, even when empty.
  if (name in process.env) return process.env[name] || undefined;
  const file = path.join(repoRoot, '.env');
  if (!existsSync(file)) return undefined;
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .findLast((entry) => entry.startsWith(`${name}=`));
  return line?.slice(name.length + 1).trim() || undefined;
}

async function connect(command: BackupCommand): Promise<DbTarget> {
  if (command.target === 'replica') {
    // Refused here, before docker compose: without the passphrase nothing in the repos is readable.
    if (!replicaSetting('BACKUP_CIPHER_PASS'))
      throw new RefusedError(
        'BACKUP_CIPHER_PASS is not set (in .env or the environment): the backups are encrypted with it and cannot be read or written without it. Nothing was done.',
      );
    return new ReplicaDb(repoRoot);
  }
  const inventory = loadInventory(resolveInventoryPath(command.target), {
    vaultPassword: (file) =>
      vaultPassword(
        file,
        command['vault-password-file'] === undefined ? {} : { passwordFile: command['vault-password-file'] },
      ),
  });
  const hosts = limitHosts(hostsOf(inventory), command.limit === undefined ? undefined : [command.limit]).filter(
    (host) => host.groups.includes('db'),
  );
  const [host] = hosts;
  if (!host)
    throw new UsageError(`${inventory.file}: no db host${command.limit ? ` matches --limit ${command.limit}` : ''}`);
  // The same key choice as npm run provision: a plain key, the agent, or an encrypted key's passphrase.
  const auth = await resolveIdentity({
    identityFile: command.identity,
    identityNamed: false,
    passphraseFile: process.env.PROVISION_SSH_PASSPHRASE_FILE || undefined,
    agentSocket: process.env.SSH_AUTH_SOCK || undefined,
    prompt: process.stdin.isTTY ? promptHidden : undefined,
  });
  const ssh = { auth, knownHostsFile: command['known-hosts'] };
  const bastion = await Bastion.connect(
    { name: 'bastion', address: inventory.bastion.host, port: inventory.bastion.port, user: inventory.bastion.user },
    ssh,
  );
  try {
    return new HostDb(
      bastion,
      await bastion.host({ name: host.name, address: host.address, port: host.port, user: inventory.bastion.user }),
    );
  } catch (error) {
    bastion.close();
    throw error;
  }
}

async function must(db: DbTarget, args: string[], what: string, progress: (chunk: string) => void): Promise<string> {
  const result = await db.run(args, progress);
  if (result.code !== 0)
    throw new BackupCommandError(
      `${db.name}: ${what} failed (db-backup ${args.join(' ')}, exit ${result.code})${result.stderr ? `:\n${result.stderr.trim().split('\n').slice(-15).join('\n')}` : ''}`,
    );
  return result.stdout;
}

/**
 * Everything committed so far reaches the repos, so "latest" and recent times are restorable. When
 * it cannot (a repo or the primary is down: the disaster a restore is for), the restore still goes
 * ahead with what the repos have, and says so.
 */
async function flush(db: DbTarget, progress: (chunk: string) => void): Promise<void> {
  const result = await db.run(['flush'], progress);
  if (result.code !== 0)
    progress(
      `backup: WARNING: ${db.name}: could not flush the latest WAL to every repo (exit ${result.code}); restoring from what the repos hold\n`,
    );
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const readline = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^yes$/i.test((await readline.question(question)).trim());
  } finally {
    readline.close();
  }
}

export async function runBackupCommand(
  command: BackupCommand,
  db: DbTarget,
  out: (text: string) => void,
  progress: (chunk: string) => void,
  now = () => new Date(),
): Promise<void> {
  switch (command.action) {
    case 'backup':
      await must(db, ['backup', command.type], `the ${command.type} backup`, progress);
      out(formatBackups(parseInfo(await must(db, ['info'], 'pgbackrest info', progress)), regions));
      return;
    case 'backups':
      out(formatBackups(parseInfo(await must(db, ['info'], 'pgbackrest info', progress)), regions));
      return;
    case 'verify':
      await must(db, ['verify'], 'the verification', progress);
      out(`${db.name}: verification passed\n`);
      return;
    case 'restore': {
      const target = command.restoreTarget;
      if (!target) throw new UsageError('restore needs --to <time|latest>');
      const info = parseInfo(await must(db, ['info'], 'pgbackrest info', progress));
      // Checked before anything changes: a refused request leaves the primary and the repos as they were.
      const args = planRestore({ target, set: command.set, repo: command.repo }, info, now());
      if (command.into === 'scratch') {
        await flush(db, progress);
        await must(db, ['restore-scratch', ...args], 'the restore into the scratch instance', progress);
        out(
          `${db.name}: restored into the scratch instance (${args.join(' ')}); it runs on port 5433, socket /var/lib/postgresql/scratch/socket; stop it with db-backup scratch-stop\n`,
        );
        return;
      }
      if (
        !command.yes &&
        !(await confirm(
          `${db.name}: replace the primary's data with the restore (${args.join(' ')})? The current data is kept aside. Type yes: `,
        ))
      ) {
        throw new RefusedError(
          `${db.name}: in-place restore not confirmed (answer yes, or pass --yes): nothing was done`,
        );
      }
      await flush(db, progress);
      await db.stop();
      const restored = await db.runStopped(['restore-in-place', ...args], progress);
      if (restored.code !== 0) {
        await db.startAndWait(300_000).catch(() => undefined);
        throw new BackupCommandError(
          `${db.name}: the in-place restore failed (exit ${restored.code}); PostgreSQL was started again on its data:\n${restored.stderr.trim().split('\n').slice(-15).join('\n')}`,
        );
      }
      const aside = restored.stdout.trim().split('\n').at(-1) ?? '';
      try {
        await db.startAndWait(600_000);
      } catch (error) {
        throw new BackupCommandError(
          `${(error as Error).message}\nThe data from before the restore is in ${aside} (docs/runbooks/restore.md: "put the previous data back").`,
        );
      }
      out(
        `${db.name}: restored in place (${args.join(' ')}) and healthy; the previous data is kept in ${aside} until you remove it\n`,
      );
      return;
    }
  }
}

/** The words after this script, whether node runs it directly or through npm. */
function scriptArgs(): string[] {
  const self = fileURLToPath(import.meta.url);
  const at = process.argv.findIndex((arg) => path.resolve(arg) === self);
  return process.argv.slice(at === -1 ? 2 : at + 1);
}

async function main(): Promise<void> {
  const command = parseCommand(scriptArgs());
  const db = await connect(command);
  try {
    await runBackupCommand(
      command,
      db,
      (text) => process.stdout.write(text),
      (chunk) => process.stderr.write(chunk),
    );
  } finally {
    db.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (error) {
    const expected =
      error instanceof UsageError ||
      error instanceof RefusedError ||
      error instanceof BackupCommandError ||
      error instanceof InventoryError ||
      error instanceof VaultError;
    const message =
      error instanceof ProvisionError
        ? error.describe()
        : expected
          ? error.message
          : error instanceof Error
            ? (error.stack ?? error.message)
            : String(error);
    process.stderr.write(`backup: ${message}\n`);
    process.exitCode = error instanceof UsageError ? 2 : error instanceof RefusedError ? 3 : 1;
  }
}
