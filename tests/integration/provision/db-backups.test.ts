// The db role's backups on a lab host, and the backup CLI's inventory path through the bastion: db1
// converged with the backup vars against the lab's S3 store (compose/s3, the replica's image, on the
// lab's internal network with a CA of its own, which the role is told to trust); then the stanza,
// the timers and WAL archiving as the host shows them; a backup, marker rows and a point-in-time
// restore into the scratch instance, each through `npm run backup -- <inventory> …` as an operator
// runs it: docs/runbooks/restore.md's `sh lab` blocks (its production part), run as written with the
// lab's inventory, key, known_hosts and vault password; then a second converge that changes nothing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { repoRoot } from '../../support/paths.js';
import type { ProvisionRun } from '../../support/provision-lab.js';
import { startProvisionLab, type StartedProvisionLab } from '../../support/provision-lab.js';
import { runbookBlocks, runShellBlock } from '../../support/runbook-commands.js';
import { useRyukOnlyWhereAvailable } from '../../support/ryuk.js';
import { buildServiceImage } from '../../support/service-image.js';

const execFileAsync = promisify(execFile);

const cipherPass = randomBytes(24).toString('base64url');
const s3Key = 'lab-backups';
const s3Secret = randomBytes(24).toString('base64url');
const buckets = ['refereezy-backups-eu-west-1', 'refereezy-backups-eu-central-1'];

let lab: StartedProvisionLab;
let first: ProvisionRun;

before(async () => {
  await useRyukOnlyWhereAvailable();
  const s3Image = await buildServiceImage('s3');
  lab = await startProvisionLab({
    hosts: { db1: { groups: ['db'] } },
    services: {
      s3: {
        image: s3Image,
        environment: { S3_ACCESS_KEY: s3Key, S3_SECRET_KEY: s3Secret, S3_BUCKETS: buckets.join(' ') },
      },
    },
    vars: { db_backup_repo1_endpoint: 's3', db_backup_repo2_endpoint: 's3' },
    secrets: {
      db_password: `db-${randomBytes(12).toString('base64url')}`,
      db_monitor_password: `mon-${randomBytes(12).toString('base64url')}`,
      db_backup_cipher_pass: cipherPass,
      db_backup_s3_key: s3Key,
      db_backup_s3_key_secret: s3Secret,
    },
  });
  // The store made its CA on its first start: the role is told to trust it (as an operator pastes a CA into the inventory).
  const ca = await lab.exec('s3', ['cat', '/var/lib/s3/ca/ca.crt']);
  assert.equal(ca.exitCode, 0, ca.output);
  lab.updateInventory((options) => ({ ...options, vars: { ...options.vars, db_backup_s3_ca: ca.output } }));
});

after(async () => {
  await (lab as StartedProvisionLab | undefined)?.stop();
});

async function ok(host: string, argv: string[]): Promise<string> {
  const { exitCode, output } = await lab.exec(host, argv);
  assert.equal(exitCode, 0, `${host}: ${argv.join(' ')}: ${output}`);
  return output;
}

const sql = (database: string, query: string, socket: string[] = []) =>
  ok('db1', [
    'runuser',
    '-u',
    'postgres',
    '--',
    'psql',
    ...socket,
    '-XAtq',
    '-v',
    'ON_ERROR_STOP=1',
    '-d',
    database,
    '-c',
    query,
  ]);

/** `npm run backup -- <inventory> …args` as an operator runs it: through the bastion, the lab's key and known_hosts, the vault's password in the environment. */
async function backupCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = [
    'run',
    '--silent',
    'backup',
    '--',
    lab.inventoryFile,
    ...args,
    '--identity',
    lab.identityFile,
    '--known-hosts',
    lab.knownHostsFile,
  ];
  const { PROVISION_VAULT_PASSWORD_FILE: _file, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await execFileAsync('npm', argv, {
      cwd: repoRoot,
      env: { ...inherited, ...lab.cliEnv() },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 10 * 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : 1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? String(error),
    };
  }
}

function changes(result: ProvisionRun): string {
  return result.recap.hosts
    .flatMap((host) =>
      host.tasks
        .filter((task) => task.status !== 'ok')
        .map(
          (task) =>
            `[${host.host}] ${task.status} ${task.role}: ${task.task} — ${task.reason}${task.diff ? `\n${task.diff}` : ''}`,
        ),
    )
    .join('\n');
}

/** A `sh lab` block of docs/runbooks/restore.md, as written, in the operator's environment for the lab. */
async function runbook(name: string, env: Record<string, string> = {}): Promise<string> {
  const block = runbookBlocks('restore.md', 'lab').get(name);
  assert.ok(block, `docs/runbooks/restore.md has no \`sh lab ${name}\` block`);
  const { exitCode, output } = await runShellBlock(block, { ...lab.operatorEnv(), ...env }, 10 * 60_000);
  assert.equal(exitCode, 0, `restore.md, block ${name}:\n${output}`);
  return output;
}

describe('the db role’s backups on a lab host, and the backup CLI through the bastion', () => {
  it('when db1 is converged with the backup vars, then it converges and the stanza exists on both repos', async () => {
    const started = Date.now();
    first = await lab.provision([]);
    process.stderr.write(`converge with backups: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    const failed = first.recap.hosts.filter((host) => host.status === 'failed' || host.status === 'unreachable');
    assert.equal(
      first.code,
      0,
      `exit ${first.code}:\n${failed.map((host) => `${host.host}: ${host.error?.message ?? ''}`).join('\n')}\n${first.stderr}`,
    );
    assert.equal(first.recap.hosts.find((host) => host.host === 'db1')?.status, 'changed');
    const info = JSON.parse(
      await ok('db1', [
        'runuser',
        '-u',
        'postgres',
        '--',
        'pgbackrest',
        '--stanza=refereezy',
        '--log-level-console=off',
        'info',
        '--output=json',
      ]),
    ) as { name: string; repo: { key: number; status: { code: number } }[] }[];
    const [stanza] = info;
    assert.equal(stanza?.name, 'refereezy', JSON.stringify(info));
    // Per repo: the stanza exists there (pgBackRest's status 1 is "missing stanza path", 3 "missing stanza data").
    assert.deepEqual(
      stanza.repo.map((repo) => [repo.key, repo.status.code !== 1 && repo.status.code !== 3]),
      [
        [1, true],
        [2, true],
      ],
      JSON.stringify(info),
    );
    assert.ok(
      !first.stdout.includes(cipherPass) && !first.stderr.includes(cipherPass) && !first.stdout.includes(s3Secret),
      'a backup secret in the recap or the progress',
    );
  });

  it('then the timers are active and WAL archiving works (pgbackrest check)', async () => {
    assert.equal(
      (
        await ok('db1', [
          'systemctl',
          'is-active',
          'refereezy-backup-full.timer',
          'refereezy-backup-diff.timer',
          'refereezy-backup-verify.timer',
        ])
      ).trim(),
      'active\nactive\nactive',
    );
    assert.equal((await sql('postgres', 'SHOW archive_mode')).trim(), 'on');
    await ok('db1', [
      'runuser',
      '-u',
      'postgres',
      '--',
      'pgbackrest',
      '--stanza=refereezy',
      '--log-level-console=warn',
      'check',
    ]);
    const archiver = (await sql('postgres', 'SELECT archived_count > 0, failed_count FROM pg_stat_archiver')).trim();
    assert.equal(archiver, 't|0', `pg_stat_archiver (archived?, failures): ${archiver}`);
  });

  it('when an operator runs a backup through the bastion (the runbook’s block), then both repos list it', async () => {
    const started = Date.now();
    const output = await runbook('backup');
    process.stderr.write(`backup through the bastion: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    assert.match(output, /repo1/);
    assert.match(output, /repo2/);
    const listed = await backupCli(['backups']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal((listed.stdout.match(/\d{8}-\d{6}F/g) ?? []).length >= 2, true, listed.stdout);
  });

  it('when marker rows are written and the database is restored into scratch to a time between them, through the bastion (the runbook’s block), then exactly the rows before that time are there', async () => {
    await sql(
      'refereezy',
      'CREATE TABLE lab_markers (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())',
    );
    await sql('refereezy', 'INSERT INTO lab_markers (id) VALUES (1)');
    await sql('refereezy', 'INSERT INTO lab_markers (id) VALUES (2)');
    // Whole seconds (what an operator types), 1.5 s after marker 2's commit and 1.5 s before marker 3's.
    await sleep(1500);
    const target = (
      await sql('postgres', `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`)
    ).trim();
    await sleep(1500);
    await sql('refereezy', 'INSERT INTO lab_markers (id) VALUES (3)');
    const started = Date.now();
    const restored = await runbook('restore-scratch', { TARGET: target });
    process.stderr.write(
      `restore to ${target} into scratch through the bastion: ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
    assert.match(restored, /restored into the scratch instance/);
    const rows = await sql('refereezy', "SELECT string_agg(id::text, ',' ORDER BY id) FROM lab_markers", [
      '-h',
      '/var/lib/postgresql/scratch/socket',
      '-p',
      '5433',
    ]);
    assert.equal(rows.trim(), '1,2');
    // The primary is untouched.
    assert.equal((await sql('refereezy', 'SELECT count(*) FROM lab_markers')).trim(), '3');
    await ok('db1', ['runuser', '-u', 'postgres', '--', '/usr/local/bin/db-backup', 'scratch-stop']);
  });

  it('when a time outside the window is asked for through the bastion, then it is refused with the window and nothing runs', async () => {
    const refused = await backupCli(['restore', '--to', '2001-01-01T00:00:00Z']);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /outside the recoverable window/);
    assert.equal((await lab.exec('db1', ['test', '-e', '/var/lib/postgresql/scratch'])).exitCode, 1);
  });

  it('when db1 is converged again, then nothing changes', async () => {
    const second = await lab.provision([]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(
      second.recap.hosts.reduce((sum, host) => sum + host.changed, 0),
      0,
      changes(second),
    );
  });
});
