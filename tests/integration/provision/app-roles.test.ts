// The db and api roles, Molecule-style, in one provisioning lab: db1 (PostgreSQL 17 from Debian, the
// replica image's config), api1 (the API from a release built here, as a systemd service) and web1
// (the web role, and the host that must not reach Postgres). Converged from scratch through the
// bastion, then again (nothing may change), then checked from what a user observes: the API ready on
// api1 as another host sees it, its schema migrated on db1, Postgres admitting api1 and no one else,
// and no password anywhere in the recap.
//
// Firebase: the lab has no egress and no emulators. The API is configured as in production (no
// emulator hosts, a project id, no credentials): Auth and Firestore are created lazily, ID tokens
// are only checked when a request brings one and the real-time mirror only writes when the outbox
// has rows, so the API starts, migrates and is ready without reaching Google; a request without a
// token is answered 401 without asking Google either.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProvisionRun } from '../../support/provision-lab.js';
import { startProvisionLab, type StartedProvisionLab } from '../../support/provision-lab.js';
import { repoRoot } from '../../support/paths.js';
import { useRyukOnlyWhereAvailable } from '../../support/ryuk.js';

// Quotes, dollars, backslashes, a hash and a space: every layer (vault YAML, psql's stdin, the
// systemd EnvironmentFile, the exporter's URL) must carry them as they are.
const dbPassword = `db p'a"s$s\\w#rd \`${randomBytes(9).toString('base64url')}`;
// The exporter's password: no whitespace (postgres_exporter cannot use it: the role refuses one).
const monitorPassword = `mon$x'y"z\\${randomBytes(9).toString('base64url')}`;
const firebaseProjectId = 'refereezy-lab';

let lab: StartedProvisionLab;
let first: ProvisionRun;
let second: ProvisionRun;

before(async () => {
  await useRyukOnlyWhereAvailable();
  lab = await startProvisionLab({
    // db_backups: false: a throwaway host without the backup vars (tests/integration/provision/db-backups.test.ts converges backups).
    hosts: {
      db1: { groups: ['db'], vars: { db_backups: false } },
      api1: { groups: ['api'] },
      web1: { groups: ['web'] },
    },
    groups: { api: { firebase_project_id: firebaseProjectId } },
    secrets: { db_password: dbPassword, db_monitor_password: monitorPassword },
  });
});

after(async () => {
  // Unset when the lab failed to start (it cleans up after itself then).
  await (lab as StartedProvisionLab | undefined)?.stop();
});

async function ok(host: string, argv: string[]): Promise<string> {
  const { exitCode, output } = await lab.exec(host, argv);
  assert.equal(exitCode, 0, `${host}: ${argv.join(' ')}: ${output}`);
  return output;
}

/** An HTTP/1.0 request from a lab host to another (or to itself: 'localhost'); bash's /dev/tcp, the hosts have no curl. */
async function httpFrom(
  host: string,
  to: string,
  port: number,
  target: string,
): Promise<{ status: number; body: string }> {
  const script =
    'exec 3<>"/dev/tcp/$1/$2" || exit 7; printf "GET %s HTTP/1.0\\r\\nHost: $1\\r\\n\\r\\n" "$3" >&3; timeout 5 cat <&3';
  const address = to === 'localhost' ? '127.0.0.1' : lab.address(to);
  const { exitCode, output } = await lab.exec(host, [
    'timeout',
    '10',
    'bash',
    '-c',
    script,
    'http',
    address,
    String(port),
    target,
  ]);
  if (exitCode !== 0) return { status: 0, body: output };
  const split = output.indexOf('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.\d (\d{3})/.exec(output)?.[1]), body: output.slice(split + 4) };
}

/**
 * A PostgreSQL StartupMessage (protocol 3.0) from one lab host to db1, and the server's first answer,
 * printable bytes only: an authentication request (pg_hba admits the host) or an error (it does not).
 * "no answer" when the connection does not open (a firewall drops it).
 */
async function postgresAnswers(host: string): Promise<string> {
  const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), Buffer.from('user\0refereezy\0database\0refereezy\0\0')]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length + 4);
  const message = [...Buffer.concat([length, body])].map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`).join('');
  const script = `exec 3<>"/dev/tcp/$1/5432" || exit 7; printf '${message}' >&3; timeout 3 cat <&3 | tr -c '[:print:]' '.'`;
  const { exitCode, output } = await lab.exec(host, ['timeout', '8', 'bash', '-c', script, 'pg', lab.address('db1')]);
  // 7: the connection did not open (dropped by db1, or refused by the sender's own egress: no route to host).
  return exitCode === 0 || (output.length > 0 && exitCode !== 7) ? output : 'no answer';
}

/** The tasks that changed, with their diffs: what a converge that should change nothing did. */
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

describe('the db and api roles', () => {
  it('when fresh hosts are checked (--check --diff), then every would-be change is reported, none fails, and nothing changes', async () => {
    const check = await lab.provision(['--check', '--diff']);
    const failed = check.recap.hosts.filter((host) => host.status === 'failed' || host.status === 'unreachable');
    assert.equal(
      check.code,
      0,
      `exit ${check.code}:\n${failed.map((host) => `${host.host}: ${host.error?.message ?? ''}`).join('\n')}`,
    );
    for (const name of ['db1', 'api1', 'web1'])
      assert.equal(check.recap.hosts.find((host) => host.host === name)?.status, 'changed', name);
    // The packages, the release and the units the plan names are still absent.
    for (const [host, probe] of [
      ['db1', ['dpkg-query', '--show', 'postgresql-17']],
      ['api1', ['test', '-e', '/opt/refereezy/api/current']],
      ['web1', ['dpkg-query', '--show', 'nginx']],
      ['db1', ['test', '-e', '/var/lib/refereezy-provision/pending-handlers']],
    ] as const) {
      assert.notEqual((await lab.exec(host, [...probe])).exitCode, 0, `${host}: ${probe.join(' ')} after --check`);
    }
    assert.ok(
      !check.stderr.includes(dbPassword) && !check.stdout.includes(dbPassword),
      'the password shows in --check --diff',
    );
  });

  it('when the hosts are converged from scratch, then every host converges', async () => {
    const started = Date.now();
    first = await lab.provision([]);
    process.stderr.write(`first converge: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    const failed = first.recap.hosts.filter((host) => host.status === 'failed' || host.status === 'unreachable');
    assert.equal(
      first.code,
      0,
      `exit ${first.code}:\n${failed.map((host) => `${host.host}: ${host.error?.message ?? ''}`).join('\n')}\n${first.stderr}`,
    );
    for (const name of ['db1', 'api1'])
      assert.equal(first.recap.hosts.find((host) => host.host === name)?.status, 'changed', name);
  });

  it('when they are converged again, then nothing changes', async () => {
    const started = Date.now();
    second = await lab.provision([]);
    process.stderr.write(`second converge: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(
      second.recap.hosts.reduce((sum, host) => sum + host.changed, 0),
      0,
      changes(second),
    );
  });

  it('then PostgreSQL, its exporter and the API run as systemd services', async () => {
    assert.equal(
      (
        await ok('db1', ['systemctl', 'is-active', 'postgresql.service', 'prometheus-postgres-exporter.service'])
      ).trim(),
      'active\nactive',
    );
    assert.equal((await ok('api1', ['systemctl', 'is-active', 'api.service'])).trim(), 'active');
    // The API runs sandboxed (the lab gives systemd CAP_SYS_ADMIN, so the unit's hardening is enforced as on EC2).
    const pid = (await ok('api1', ['systemctl', 'show', '--property=MainPID', '--value', 'api.service'])).trim();
    const status = await ok('api1', ['cat', `/proc/${pid}/status`]);
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.match(status, /^Seccomp:\s+2$/m);
    assert.match(status, /^CapEff:\s+0+$/m);
    assert.equal((await ok('api1', ['stat', '-c', '%U', `/proc/${pid}`])).trim(), 'refereezy');
    // ProtectSystem=strict: the API sees / read-only (the last mount on / is the one it sees).
    const rootMounts = (await ok('api1', ['awk', '$5 == "/" { print $6 }', `/proc/${pid}/mountinfo`]))
      .trim()
      .split('\n');
    assert.match(rootMounts.at(-1) ?? '', /^ro(,|$)/, rootMounts.join('\n'));
    // The cluster the role made, not one of Debian's.
    assert.match(
      await ok('db1', ['runuser', '-u', 'postgres', '--', 'psql', '-XAtc', 'SHOW config_file']),
      /^\/etc\/refereezy\/postgresql\/postgresql\.conf$/m,
    );
    // db_backups: false: no WAL archiving (an archive_command without a repo would fail every minute and keep every segment).
    assert.match(await ok('db1', ['runuser', '-u', 'postgres', '--', 'psql', '-XAtc', 'SHOW archive_mode']), /^off$/m);
  });

  it('then the API answers another host, ready: it reached Postgres and migrated its schema there', async () => {
    let ready = { status: 0, body: '' };
    // Restart=always brings it back if it started before Postgres answered; the handler waited for it already.
    for (let attempt = 0; attempt < 30 && ready.status !== 200; attempt++) {
      ready = await httpFrom('web1', 'api1', 3000, '/readyz');
      if (ready.status !== 200) await sleep(1000);
    }
    assert.equal(ready.status, 200, ready.body);
    assert.deepEqual(JSON.parse(ready.body), { status: 'ready', database: 'ok' });
    const migrations = await ok('db1', [
      'runuser',
      '-u',
      'postgres',
      '--',
      'psql',
      '-XAt',
      '--dbname=refereezy',
      '-c',
      'SELECT name FROM pgmigrations ORDER BY id',
    ]);
    // Every migration the release ships (api/migrations), in order.
    const shipped = readdirSync(path.join(repoRoot, 'api', 'migrations'))
      .filter((name) => name.endsWith('.sql'))
      .map((name) => name.replace(/\.sql$/, ''))
      .sort();
    assert.deepEqual(migrations.trim().split('\n'), shipped);
    const owner = await ok('db1', [
      'runuser',
      '-u',
      'postgres',
      '--',
      'psql',
      '-XAt',
      '--dbname=refereezy',
      '-c',
      "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'",
    ]);
    assert.equal(owner.trim(), 'refereezy');
    // A request without an ID token is refused by the API itself: Google is never asked.
    assert.equal((await httpFrom('web1', 'api1', 3000, '/api/referees')).status, 401);
    // Metrics on their own port (Prometheus's, from the monitoring group only: asked on the host here).
    assert.equal((await httpFrom('api1', 'localhost', 9464, '/metrics')).status, 200);
  });

  it('then Postgres admits api1 with a password (SCRAM) and no other host', async () => {
    assert.match(await postgresAnswers('api1'), /SCRAM-SHA-256/);
    const fromWeb = await postgresAnswers('web1');
    // pg_hba's refusal, or (with the common role's firewall) no connection at all.
    assert.ok(fromWeb === 'no answer' || /no pg_hba\.conf entry for host/.test(fromWeb), fromWeb);
    // pg_hba alone, whatever the firewall: db1's own address is not an api host's.
    const fromItself = await postgresAnswers('db1');
    assert.match(fromItself, /no pg_hba\.conf entry for host/);
  });

  it('then the exporter reads the statistics as monitor', async () => {
    const { status, body } = await httpFrom('db1', 'localhost', 9187, '/metrics');
    assert.equal(status, 200);
    assert.match(body, /^pg_up 1$/m);
  });

  it('then no password is in the recaps or the progress', () => {
    for (const result of [first, second]) {
      for (const secret of [dbPassword, monitorPassword]) {
        assert.ok(!result.stdout.includes(secret), 'a password in the JSON recap');
        assert.ok(!result.stderr.includes(secret), 'a password in the progress');
      }
    }
    // The environment file's change is reported, its content is not.
    const written = first.recap.hosts
      .find((host) => host.host === 'api1')
      ?.tasks.find((task) => task.task.includes('/etc/refereezy/api.env'));
    assert.ok(written?.diff?.includes('sensitive'), JSON.stringify(written));
  });
});
