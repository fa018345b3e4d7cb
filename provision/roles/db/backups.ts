import { z } from 'zod';
import type { Host } from '../../inventories/schema.js';
import { packages } from '../../operations/apt.js';
import { command } from '../../operations/command.js';
import { directory, file } from '../../operations/files.js';
import { timer } from '../../operations/timer.js';
import { renderEnvsubst } from '../../templates/envsubst.js';
import type { PlanInputs } from '../inputs.js';
import { endpoint, type EgressRule, type Task } from '../role.js';
import { roleVars } from '../vars.js';

/** The db image's pgBackRest template and job script: one source for the image and this role. */
export const pgbackrestTemplate = new URL('../../../compose/db/pgbackrest.conf.template', import.meta.url);
export const dbBackupScript = new URL('../../../compose/db/db-backup', import.meta.url);
/** The files backupTasks reads (from the play's inputs). */
export const backupSources: readonly URL[] = [pgbackrestTemplate, dbBackupScript];

const secret = z
  .string()
  .min(16, 'at least 16 characters')
  .refine((value) => !/[\s\0]/.test(value), 'no whitespace (pgbackrest.conf is line-based)');
const plain = z
  .string()
  .min(1)
  .refine((value) => !/[\s\0]/.test(value), 'no whitespace');

/**
 * The backup vars: the passphrase and the S3 keys from the vault, the repos' endpoints and buckets
 * from the inventory (defaults: AWS S3 in eu-west-1 and eu-central-1). A db host without them is
 * refused unless `db_backups: false` says that it is meant to run without backups (a throwaway
 * lab host): a forgotten vault entry must not leave production unprotected in silence.
 */
export const backupVars = z.object({
  /** false: no backups and no WAL archiving on this host, deliberately. Absent: backups, which need the vars below. */
  db_backups: z.boolean().optional(),
  db_backup_cipher_pass: secret.optional(),
  db_backup_s3_key: plain.optional(),
  db_backup_s3_key_secret: secret.optional(),
  db_backup_repo1_endpoint: plain.default('s3.eu-west-1.amazonaws.com'),
  db_backup_repo1_region: plain.default('eu-west-1'),
  db_backup_repo1_bucket: plain.default('refereezy-backups-eu-west-1'),
  db_backup_repo2_endpoint: plain.default('s3.eu-central-1.amazonaws.com'),
  db_backup_repo2_region: plain.default('eu-central-1'),
  db_backup_repo2_bucket: plain.default('refereezy-backups-eu-central-1'),
  /** The CA bundle pgBackRest trusts for S3 (the system's by default; Amazon's certificates chain to it). */
  db_backup_s3_ca_file: plain.optional(),
  /** A PEM CA certificate to trust for S3 instead (a store with a CA of its own: the lab's, the replica's s3); installed beside pgbackrest.conf. */
  db_backup_s3_ca: z
    .string()
    .regex(
      /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n?$/,
      'a PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)',
    )
    .optional(),
  db_backup_retention_days: z.number().int().min(1).max(9999).default(30),
  /** systemd calendar events, UTC (the replica's scheduler uses the same slots). */
  db_backup_full_on: z.string().default('Sun *-*-* 01:00:00 UTC'),
  db_backup_diff_on: z.string().default('Mon..Sat *-*-* 01:00:00 UTC'),
  db_backup_verify_on: z.string().default('Sun *-*-* 03:00:00 UTC'),
});

const systemCaFile = '/etc/ssl/certs/ca-certificates.crt';
/** Where the role installs db_backup_s3_ca. */
export const s3CaPath = '/etc/pgbackrest/s3-ca.crt';

export function renderPgbackrestConf(
  template: string,
  vars: z.output<typeof backupVars> & {
    db_backup_cipher_pass: string;
    db_backup_s3_key: string;
    db_backup_s3_key_secret: string;
  },
): string {
  return renderEnvsubst(
    template,
    {
      BACKUP_REPO1_ENDPOINT: vars.db_backup_repo1_endpoint,
      BACKUP_REPO1_REGION: vars.db_backup_repo1_region,
      BACKUP_REPO1_BUCKET: vars.db_backup_repo1_bucket,
      BACKUP_REPO2_ENDPOINT: vars.db_backup_repo2_endpoint,
      BACKUP_REPO2_REGION: vars.db_backup_repo2_region,
      BACKUP_REPO2_BUCKET: vars.db_backup_repo2_bucket,
      BACKUP_S3_KEY: vars.db_backup_s3_key,
      BACKUP_S3_KEY_SECRET: vars.db_backup_s3_key_secret,
      BACKUP_S3_CA_FILE: vars.db_backup_s3_ca_file ?? (vars.db_backup_s3_ca === undefined ? systemCaFile : s3CaPath),
      BACKUP_CIPHER_PASS: vars.db_backup_cipher_pass,
      BACKUP_RETENTION_DAYS: String(vars.db_backup_retention_days),
    },
    'compose/db/pgbackrest.conf.template',
  );
}

/** The textfile directory Debian's prometheus-node-exporter (the common role's) reads by default; world-readable, so no group of its is needed. */
export const metricsDir = '/var/lib/prometheus/node-exporter';

/**
 * Whether the host backs up (and archives WAL): yes with the backup vars, no only when `db_backups:
 * false` says so; a host with neither, or with both, is refused before anything changes.
 */
export function backupsEnabled(host: Host): boolean {
  const vars = roleVars(backupVars, host, 'db');
  const given = vars.db_backup_cipher_pass !== undefined;
  if (vars.db_backups === false) {
    if (given)
      throw new Error(
        `host ${host.name}: role db: db_backups is false but db_backup_cipher_pass is set: remove one of them (false means no backups and no WAL archiving)`,
      );
    return false;
  }
  if (!given) {
    throw new Error(
      `host ${host.name}: role db: no backups configured: set db_backup_cipher_pass, db_backup_s3_key and db_backup_s3_key_secret (the vault), or db_backups: false for a host that is meant to run without backups and without WAL archiving`,
    );
  }
  return true;
}

/** The firewall's egress for backups: HTTPS to each repo's S3 endpoint (by address, or anywhere for a name: S3's addresses change). */
export function backupEgress(host: Host): EgressRule[] {
  if (!backupsEnabled(host)) return [];
  const vars = roleVars(backupVars, host, 'db');
  return [...new Set([vars.db_backup_repo1_endpoint, vars.db_backup_repo2_endpoint])].map((name) => ({
    port: 443,
    to: endpoint(name),
    why: `pgBackRest's repos in S3 (${name})`,
  }));
}

/**
 * pgBackRest, its config, db-backup and its timers; nothing when the host runs without backups
 * (db_backups: false). `beforeStart` goes before PostgreSQL first starts: archive_command needs
 * pgBackRest, its config and its directories from the first segment on (and the unit's sandbox
 * only opens directories that exist when it starts); `afterStart` needs the cluster running.
 */
export function backupTasks(host: Host, read: PlanInputs): { beforeStart: Task[]; afterStart: Task[] } {
  const parts = backupTaskList(host, read);
  const at = parts.findIndex((task) => task.name === stanzaTaskName);
  return at === -1
    ? { beforeStart: [], afterStart: [] }
    : { beforeStart: parts.slice(0, at), afterStart: parts.slice(at) };
}

const stanzaTaskName = 'Create the stanza on both repos';
const stanzaScript = `set -eu
if [ "$(runuser -u postgres -- psql -XAtq -d postgres -c 'SHOW archive_mode')" = on ]; then
  exec runuser -u postgres -- /usr/local/bin/db-backup stanza
fi
echo 'archive_mode is not on yet (PostgreSQL restarts at the end of the run with --allow-restart db): creating the stanza without pgbackrest check' >&2
exec runuser -u postgres -- pgbackrest --stanza=refereezy --log-level-console=warn stanza-create`;

function backupTaskList(host: Host, read: PlanInputs): Task[] {
  if (!backupsEnabled(host)) return [];
  const vars = roleVars(backupVars, host, 'db');
  const { db_backup_cipher_pass: cipher, db_backup_s3_key: key, db_backup_s3_key_secret: keySecret } = vars;
  if (cipher === undefined) return [];
  if (key === undefined || keySecret === undefined)
    throw new Error(
      `host ${host.name}: role db: db_backup_cipher_pass is set, so db_backup_s3_key and db_backup_s3_key_secret must be too (the vault)`,
    );
  if (vars.db_backup_s3_ca !== undefined && vars.db_backup_s3_ca_file !== undefined)
    throw new Error(
      `host ${host.name}: role db: db_backup_s3_ca and db_backup_s3_ca_file are both set: give one (the certificate, or the path of a bundle already on the host)`,
    );
  const conf = renderPgbackrestConf(read.text(pgbackrestTemplate), {
    ...vars,
    db_backup_cipher_pass: cipher,
    db_backup_s3_key: key,
    db_backup_s3_key_secret: keySecret,
  });
  const job = (name: string, description: string, args: string[], onCalendar: string): Task => ({
    name: `Schedule ${description} (${onCalendar})`,
    operation: timer({
      name,
      description,
      command: ['/usr/local/bin/db-backup', ...args],
      user: 'postgres',
      onCalendar,
      persistent: true,
    }),
  });
  return [
    {
      name: 'Install pgBackRest (and jq, for db-backup)',
      operation: packages({ packages: ['pgbackrest', 'jq'], present: true }),
    },
    {
      name: 'Create pgBackRest’s config directory',
      operation: directory({ path: '/etc/pgbackrest', owner: 'postgres', group: 'postgres', mode: '0700' }),
    },
    {
      name: 'Render pgbackrest.conf (the image’s template): both repos, encrypted, 30 days',
      operation: file({
        sensitive: true,
        path: '/etc/pgbackrest/pgbackrest.conf',
        content: conf,
        owner: 'postgres',
        group: 'postgres',
        mode: '0600',
      }),
    },
    ...(vars.db_backup_s3_ca === undefined
      ? []
      : [
          {
            name: `Install the S3 store’s CA certificate (${s3CaPath})`,
            operation: file({
              path: s3CaPath,
              content: vars.db_backup_s3_ca.endsWith('\n') ? vars.db_backup_s3_ca : `${vars.db_backup_s3_ca}\n`,
              owner: 'postgres',
              group: 'postgres',
              mode: '0644',
            }),
          },
        ]),
    // Debian's package ships /etc/pgbackrest.conf; pgBackRest reads only /etc/pgbackrest/ when it exists.
    {
      name: 'Create pgBackRest’s spool directory (async archive-push)',
      operation: directory({ path: '/var/spool/pgbackrest', owner: 'postgres', group: 'postgres', mode: '0700' }),
    },
    {
      name: 'Create pgBackRest’s log directory',
      operation: directory({ path: '/var/log/pgbackrest', owner: 'postgres', group: 'postgres', mode: '0770' }),
    },
    {
      name: 'Create the directory where an in-place restore keeps the data it replaces',
      operation: directory({
        path: '/var/lib/postgresql/restore-aside',
        owner: 'postgres',
        group: 'postgres',
        mode: '0700',
      }),
    },
    {
      name: `Let db-backup write its metrics for node_exporter (${metricsDir})`,
      operation: directory({ path: metricsDir, owner: 'postgres', group: 'postgres', mode: '0755' }),
    },
    {
      name: 'Install db-backup (the image’s)',
      operation: file({
        path: '/usr/local/bin/db-backup',
        content: read.text(dbBackupScript),
        mode: '0755',
      }),
    },
    {
      name: stanzaTaskName,
      operation: command({
        // db-backup stanza ends with pgbackrest check, which needs WAL archiving running. A host that
        // ran with db_backups: false runs archive_mode = off until PostgreSQL restarts (a disruptive
        // handler, run at the end and only with --allow-restart db): the stanza is created then
        // without the check, which every backup repeats anyway.
        argv: ['sh', '-c', stanzaScript],
        unless: [
          'sh',
          '-c',
          "runuser -u postgres -- pgbackrest --stanza=refereezy --log-level-console=off info --output=json | jq -e '.[0].status.code == 0 or .[0].status.code == 2' >/dev/null",
        ],
      }),
    },
    job('refereezy-backup-full', 'the weekly full backup', ['backup', 'full'], vars.db_backup_full_on),
    job('refereezy-backup-diff', 'the daily differential backup', ['backup', 'diff'], vars.db_backup_diff_on),
    job('refereezy-backup-verify', 'the weekly backup verification', ['verify'], vars.db_backup_verify_on),
  ];
}
