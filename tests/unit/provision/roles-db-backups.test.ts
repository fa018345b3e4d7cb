import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Host } from '../../../provision/inventories/schema.js';
import { db, postgresqlConfSource } from '../../../provision/roles/db/index.js';
import { backupEgress, backupTasks, pgbackrestTemplate } from '../../../provision/roles/db/backups.js';
import { roleInputs } from '../../support/role-inputs.js';

const host = (vars: Record<string, unknown> = {}): Host => ({
  name: 'db1',
  address: '10.0.3.10',
  port: 22,
  groups: ['db'],
  vars: { db_password: 'app password 1234', db_monitor_password: 'monitor-password-1234', ...vars },
});
const secrets = {
  db_backup_cipher_pass: 'a-long-cipher-passphrase',
  db_backup_s3_key: 'AKIAEXAMPLE',
  db_backup_s3_key_secret: 'secret-key-of-forty-characters-or-so',
};
const inputs = await roleInputs(db, [host()]);
/** Both halves of the backup tasks (before PostgreSQL starts, after). */
const allBackupTasks = (target: Host) => {
  const { beforeStart, afterStart } = backupTasks(target, inputs);
  return [...beforeStart, ...afterStart];
};
const taskNames = (target: Host) => db.tasks(target, { hosts: [target], inputs }).map((task) => task.name);

describe('db role: backups (pgBackRest, db-backup, timers)', () => {
  it('when the host has no backup vars and no db_backups: false, then the role refuses it before anything, naming what to set', () => {
    assert.throws(
      () => db.tasks(host(), { hosts: [], inputs }),
      /^Error: host db1: role db: no backups configured: set db_backup_cipher_pass, db_backup_s3_key and db_backup_s3_key_secret \(the vault\), or db_backups: false/,
    );
  });

  it('when db_backups is false, then the role configures no backups and postgresql.conf is the image’s with WAL archiving off', () => {
    const target = host({ db_backups: false });
    assert.deepEqual(allBackupTasks(target), []);
    const conf = db
      .tasks(target, { hosts: [target], inputs })
      .find((task) => task.name.startsWith('Install postgresql.conf'));
    assert.ok(conf);
    const written = String(conf.operation.plan(null).commands[0]?.stdin ?? '');
    const source = readFileSync(postgresqlConfSource, 'utf8');
    assert.match(written, /^archive_mode = off\b/m);
    assert.doesNotMatch(written, /^archive_mode = on/m);
    // The rest is the image's file, line for line.
    assert.deepEqual(
      written.split('\n').filter((line) => !line.startsWith('archive_mode')),
      source.split('\n').filter((line) => !line.startsWith('archive_mode')),
    );
  });

  it('when the backup vars are set, then postgresql.conf is the image’s as it is (archiving on)', () => {
    const target = host(secrets);
    const conf = db
      .tasks(target, { hosts: [target], inputs })
      .find((task) => task.name.startsWith('Install postgresql.conf'));
    assert.equal(conf?.operation.plan(null).commands[0]?.stdin, readFileSync(postgresqlConfSource, 'utf8'));
  });

  it('when backups are on, then the firewall lets the host reach each repo’s S3 endpoint on 443, and nothing with db_backups: false', () => {
    assert.deepEqual(
      backupEgress(host(secrets)).map((rule) => [
        rule.port,
        typeof rule.to === 'function' ? rule.to(host(secrets), { hosts: [] }) : rule.to,
      ]),
      [
        [443, 'anywhere'],
        [443, 'anywhere'],
      ],
    );
    assert.deepEqual(
      backupEgress(
        host({ ...secrets, db_backup_repo1_endpoint: '10.0.9.9', db_backup_repo2_endpoint: '10.0.9.9' }),
      ).map((rule) => (typeof rule.to === 'function' ? rule.to(host(), { hosts: [] }) : rule.to)),
      [['10.0.9.9']],
    );
    assert.deepEqual(backupEgress(host({ db_backups: false })), []);
  });

  it('when db_backups is false and a passphrase is set too, then the role refuses the contradiction', () => {
    assert.throws(
      () => allBackupTasks(host({ ...secrets, db_backups: false })),
      /^Error: host db1: role db: db_backups is false but db_backup_cipher_pass is set/,
    );
  });

  it('when the S3 store’s CA certificate is given, then it is installed and pgbackrest.conf trusts it', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
    const tasks = allBackupTasks(host({ ...secrets, db_backup_s3_ca: ca }));
    const install = tasks.find((task) => task.name.startsWith('Install the S3 store’s CA certificate'));
    assert.equal(install?.operation.plan(null).commands[0]?.stdin, ca);
    const rendered = String(
      tasks.find((task) => task.name.startsWith('Render pgbackrest.conf'))?.operation.plan(null).commands[0]?.stdin ??
        '',
    );
    assert.match(rendered, /^repo1-storage-ca-file=\/etc\/pgbackrest\/s3-ca\.crt$/m);
    assert.match(rendered, /^repo2-storage-ca-file=\/etc\/pgbackrest\/s3-ca\.crt$/m);
    assert.throws(
      () => allBackupTasks(host({ ...secrets, db_backup_s3_ca: 'not a certificate' })),
      /vars\.db_backup_s3_ca: a PEM certificate/,
    );
    assert.throws(
      () => allBackupTasks(host({ ...secrets, db_backup_s3_ca: ca, db_backup_s3_ca_file: '/etc/ssl/x.pem' })),
      /db_backup_s3_ca and db_backup_s3_ca_file are both set/,
    );
  });

  it('when it has one, then pgBackRest, its config, db-backup and three timers follow the cluster’s tasks', () => {
    const names = taskNames(host(secrets));
    const backups = names.slice(names.indexOf('Install pgBackRest (and jq, for db-backup)'));
    assert.ok(names.indexOf('Keep PostgreSQL enabled and running') < names.indexOf('Create the stanza on both repos'));
    // archive_command works from PostgreSQL's first start: pgBackRest, its config and its directories come before the unit starts it.
    for (const before of [
      'Install pgBackRest (and jq, for db-backup)',
      'Render pgbackrest.conf (the image’s template): both repos, encrypted, 30 days',
      'Create pgBackRest’s spool directory (async archive-push)',
    ]) {
      assert.ok(
        names.indexOf(before) !== -1 && names.indexOf(before) < names.indexOf('Keep PostgreSQL enabled and running'),
        before,
      );
    }
    assert.deepEqual(
      backups.filter((name) => name.startsWith('Schedule')),
      [
        'Schedule the weekly full backup (Sun *-*-* 01:00:00 UTC)',
        'Schedule the daily differential backup (Mon..Sat *-*-* 01:00:00 UTC)',
        'Schedule the weekly backup verification (Sun *-*-* 03:00:00 UTC)',
      ],
    );
  });

  it('when rendered, then pgbackrest.conf is byte for byte what the image’s entrypoint renders with envsubst from the same template', () => {
    const values = {
      BACKUP_REPO1_ENDPOINT: 's3.eu-west-1.amazonaws.com',
      BACKUP_REPO1_REGION: 'eu-west-1',
      BACKUP_REPO1_BUCKET: 'refereezy-backups-eu-west-1',
      BACKUP_REPO2_ENDPOINT: 's3.eu-central-1.amazonaws.com',
      BACKUP_REPO2_REGION: 'eu-central-1',
      BACKUP_REPO2_BUCKET: 'refereezy-backups-eu-central-1',
      BACKUP_S3_KEY: secrets.db_backup_s3_key,
      BACKUP_S3_KEY_SECRET: secrets.db_backup_s3_key_secret,
      BACKUP_S3_CA_FILE: '/etc/ssl/certs/ca-certificates.crt',
      BACKUP_CIPHER_PASS: secrets.db_backup_cipher_pass,
      BACKUP_RETENTION_DAYS: '30',
    };
    const expected = execFileSync(
      'envsubst',
      [
        Object.keys(values)
          .map((name) => `\${${name}}`)
          .join(' '),
      ],
      { input: readFileSync(pgbackrestTemplate, 'utf8'), env: { PATH: process.env.PATH, ...values } },
    ).toString();
    const task = allBackupTasks(host(secrets)).find((entry) => entry.name.startsWith('Render pgbackrest.conf'));
    assert.ok(task);
    const plan = task.operation.plan(null);
    assert.equal(plan.commands[0]?.stdin, expected);
    assert.ok(
      !JSON.stringify(plan.diff ?? '').includes(secrets.db_backup_cipher_pass),
      'the passphrase shows in the diff',
    );
    assert.match(expected, /^repo1-cipher-type=aes-256-cbc$/m);
    assert.match(expected, /^repo2-retention-full-type=time$/m);
  });

  it('when the passphrase is set without the S3 keys, then the error names the host, the role and what is missing', () => {
    assert.throws(
      () => allBackupTasks(host({ db_backup_cipher_pass: secrets.db_backup_cipher_pass })),
      /^Error: host db1: role db: db_backup_cipher_pass is set, so db_backup_s3_key and db_backup_s3_key_secret must be too/,
    );
  });

  it('when the passphrase is short, then the vars check refuses it', () => {
    assert.throws(
      () => allBackupTasks(host({ ...secrets, db_backup_cipher_pass: 'short' })),
      /vars\.db_backup_cipher_pass: at least 16 characters/,
    );
  });
});
