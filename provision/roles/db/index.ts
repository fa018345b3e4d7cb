import { z } from 'zod';
import type { Fact } from '../../facts/fact.js';
import type { Host } from '../../inventories/schema.js';
import { packages } from '../../operations/apt.js';
import { command } from '../../operations/command.js';
import { run } from '../../operations/operation.js';
import type { InputNeeds } from '../inputs.js';
import { playInputs, type Play, type Role, type Task } from '../role.js';
import { roleVars } from '../vars.js';
import { directory, file } from '../../operations/files.js';
import { service, unitFile, unitService } from '../../operations/systemd.js';
import { hostCidr, pgHbaTemplate, renderPgHba } from './pg-hba.js';
import { identifier, psql } from '../../facts/postgres.js';
import { pgDatabase, pgRole, publicSchema } from '../../operations/postgres.js';
import { backupEgress, backupsEnabled, backupSources, backupTasks } from './backups.js';

/** The replica image's postgresql.conf, installed as it is (no second copy) but for archive_mode. */
export const postgresqlConfSource = new URL('../../../compose/db/postgresql.conf', import.meta.url);

const archiveModeLine = /^archive_mode = on$/m;
/**
 * postgresql.conf for a host: the image's file, with `archive_mode = off` on a host that runs
 * without backups (db_backups: false), as the image's entrypoint turns it off (`-c archive_mode=off`)
 * when the replica has no passphrase: an archive_command that cannot succeed would keep every WAL
 * segment on disk and log a failure a minute.
 */
export function renderPostgresqlConf(source: string, archive: boolean): string {
  if ((source.match(new RegExp(archiveModeLine.source, 'gm')) ?? []).length !== 1)
    throw new Error(
      'compose/db/postgresql.conf: expected exactly one line "archive_mode = on" (the db role turns it off on hosts without backups)',
    );
  return archive
    ? source
    : source.replace(
        archiveModeLine,
        'archive_mode = off  # db_backups: false (the provisioning db role): no backups, no WAL archiving',
      );
}
const unitSource = new URL('./postgresql.service', import.meta.url);

// Paths the image uses (compose/db/Dockerfile and entrypoint.sh), and postgresql.conf names.
const dataDir = '/var/lib/postgresql/data';
const configDir = '/etc/refereezy/postgresql';
const bin = '/usr/lib/postgresql/17/bin';
const exporterUnit = 'prometheus-postgres-exporter.service';
const exporterEnv = '/etc/refereezy/postgres-exporter.env';

const name = z.string().regex(identifier, 'a plain PostgreSQL identifier ([a-z_][a-z0-9_]*)');

const oldPasswordName = z.undefined({ error: "renamed db_password (the API role's password has one name)" }).optional();
/** Other names the API role's password went by (the images' env, .env): refused in an inventory, never silently ignored. */
export const oldPasswordNames = {
  APP_DB_PASSWORD: oldPasswordName,
  DB_PASSWORD: oldPasswordName,
  app_db_password: oldPasswordName,
};

/** The inventory's (vault's) vars this role reads; the api role reads the same db_* names. */
export const dbVars = z.object({
  ...oldPasswordNames,
  db_name: name.default('refereezy'),
  db_user: name.default('refereezy'),
  db_password: z
    .string()
    .min(12, 'at least 12 characters')
    .refine((value) => !/[\0\n\r]/.test(value), 'no NUL or line break'),
  db_monitor_user: name.default('monitor'),
  db_monitor_password: z
    .string()
    .min(12, 'at least 12 characters')
    // Measured: postgres_exporter 0.17 (Debian's) turns its URL into a key=value DSN that lib/pq rejects when the password has a space.
    .refine((value) => !/\s|\0/.test(value), 'no whitespace (postgres_exporter cannot connect with it)'),
});

/** pg_hba's client addresses: every api host of the inventory, and this host (the exporter on 127.0.0.1). */
export function clientCidrs(host: Host, play: Play): string[] {
  const apiHosts = play.hosts.filter((peer) => peer.groups.includes('api'));
  return [
    ...apiHosts.map((peer) => {
      try {
        return hostCidr(peer.address);
      } catch (error) {
        throw new Error(`host ${host.name}: role db: api host ${peer.name}: ${(error as Error).message}`);
      }
    }),
    '127.0.0.1/32',
  ];
}

/** The exporter's connection as the image's entrypoint builds it: every byte of the password percent-encoded. */
export function exporterDataSource(user: string, password: string, database: string): string {
  const encoded = [...Buffer.from(password, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
  return `postgresql://${user}:${encoded}@127.0.0.1:5432/${database}?sslmode=disable`;
}

/** The image's files this role installs or renders: read before planning. */
const inputs: InputNeeds = { files: [postgresqlConfSource, unitSource, pgHbaTemplate, ...backupSources] };

function tasks(host: Host, play: Play): Task[] {
  const vars = roleVars(dbVars, host, 'db');
  // First: a db host with neither backup vars nor db_backups: false is refused before anything changes.
  const archive = backupsEnabled(host);
  const read = playInputs(play);
  const backups = backupTasks(host, read);
  const hba = renderPgHba(
    read.text(pgHbaTemplate),
    { APP_DB_NAME: vars.db_name, APP_DB_USER: vars.db_user, MONITOR_DB_USER: vars.db_monitor_user },
    clientCidrs(host, play),
  );
  return [
    { name: 'Create /etc/postgresql-common', operation: directory({ path: '/etc/postgresql-common' }) },
    {
      name: 'Keep Debian from creating its own cluster (this role makes the one cluster)',
      // As the image does, before the package: its postinst would otherwise create and start 17/main.
      operation: file({ path: '/etc/postgresql-common/createcluster.conf', content: 'create_main_cluster = false\n' }),
    },
    {
      name: 'Install PostgreSQL 17 and its Prometheus exporter',
      operation: packages({ packages: ['postgresql-17', 'prometheus-postgres-exporter'], present: true }),
    },
    { name: `Create the config directory ${configDir}`, operation: directory({ path: configDir }) },
    {
      name: `Install postgresql.conf (the replica image’s${archive ? '' : ', WAL archiving off: db_backups is false'})`,
      operation: file({
        path: `${configDir}/postgresql.conf`,
        content: renderPostgresqlConf(read.text(postgresqlConfSource), archive),
      }),
      // The restart only when a changed setting applies at start only (PostgreSQL says which), and only when allowed.
      notify: ['reload postgresql', 'restart postgresql'],
    },
    {
      name: `Create the data directory ${dataDir}`,
      operation: directory({ path: dataDir, owner: 'postgres', group: 'postgres', mode: '0700' }),
    },
    {
      name: 'Create the cluster (as the image’s entrypoint does)',
      operation: command({
        argv: [
          'runuser',
          '-u',
          'postgres',
          '--',
          `${bin}/initdb`,
          `--pgdata=${dataDir}`,
          '--username=postgres',
          '--encoding=UTF8',
          '--locale=C.UTF-8',
          '--auth-local=peer',
          '--auth-host=reject',
          '--data-checksums',
        ],
        unless: ['test', '-s', `${dataDir}/PG_VERSION`],
      }),
    },
    {
      name: 'Render pg_hba.conf: the api hosts only, with passwords',
      operation: file({
        path: `${dataDir}/pg_hba.conf`,
        content: hba,
        owner: 'postgres',
        group: 'postgres',
        mode: '0600',
      }),
      notify: ['reload postgresql'],
    },
    // pgBackRest before PostgreSQL first starts: archive_mode is on from the first segment.
    ...backups.beforeStart,
    {
      name: 'Install the postgresql unit (the image’s command, hardened) over Debian’s umbrella unit',
      operation: unitFile({ name: 'postgresql.service', content: read.text(unitSource) }),
      notify: ['restart postgresql'],
    },
    {
      name: 'Keep PostgreSQL enabled and running',
      operation: unitService({ unit: 'postgresql.service', fragment: '/etc/systemd/system/postgresql.service' }),
    },
    {
      name: `Create the application role ${vars.db_user}`,
      operation: pgRole({ name: vars.db_user, password: vars.db_password }),
    },
    {
      name: `Create the statistics role ${vars.db_monitor_user} (pg_monitor)`,
      operation: pgRole({ name: vars.db_monitor_user, password: vars.db_monitor_password, memberOf: ['pg_monitor'] }),
    },
    {
      name: `Create the database ${vars.db_name} owned by ${vars.db_user}`,
      operation: pgDatabase({ name: vars.db_name, owner: vars.db_user }),
    },
    {
      name: `Let only ${vars.db_user} use the public schema of ${vars.db_name}`,
      operation: publicSchema({ database: vars.db_name, user: vars.db_user }),
    },
    { name: 'Create the exporter’s config directory', operation: directory({ path: '/etc/refereezy' }) },
    {
      name: `Give the exporter its connection as ${vars.db_monitor_user}`,
      operation: file({
        sensitive: true,
        path: exporterEnv,
        content: `DATA_SOURCE_NAME=${exporterDataSource(vars.db_monitor_user, vars.db_monitor_password, vars.db_name)}\n`,
        mode: '0600',
      }),
      notify: ['restart postgres exporter'],
    },
    {
      name: 'Create the exporter’s drop-in directory',
      operation: directory({ path: `/etc/systemd/system/${exporterUnit}.d` }),
    },
    {
      name: 'Point the exporter at its connection',
      // A drop-in, not Debian's /etc/default conffile: package upgrades never ask about it.
      operation: unitFile({
        name: `${exporterUnit}.d/refereezy.conf`,
        content: `[Service]\nEnvironmentFile=${exporterEnv}\n`,
      }),
      notify: ['restart postgres exporter'],
    },
    {
      name: 'Keep the exporter enabled and running',
      operation: service({ unit: exporterUnit, enabled: true, running: true }),
    },
    // The stanza and the timers (db-backup): after the cluster runs, since the stanza is created against it.
    ...backups.afterStart,
  ];
}

/**
 * Reloads the configuration, waits until the postmaster has read it, and fails when PostgreSQL
 * rejected part of it (it then keeps the previous values). A changed setting that applies at start
 * only (pending_restart) is the restart handler's: the only PostgreSQL is restarted when the
 * operator says so, never as a side effect of a converge.
 */
const reloadScript = `set -eu
systemctl is-active --quiet postgresql.service || exit 0
q() { ${psql('postgres')
  .map((word) => `'${word}'`)
  .join(' ')} --command="$1"; }
before=$(q 'SELECT pg_conf_load_time()')
systemctl reload postgresql.service
i=0
until [ "$(q "SELECT pg_conf_load_time() > '$before'")" = t ]; do
  i=$((i + 1))
  [ "$i" -le 100 ] || { echo 'PostgreSQL did not reload its configuration within 10 s' >&2; exit 1; }
  sleep 0.1
done
rejected=$(q "SELECT concat_ws('; ', (SELECT string_agg(sourcefile || ':' || sourceline || ': ' || error, '; ') FROM pg_file_settings WHERE error IS NOT NULL AND error <> 'setting could not be applied'), (SELECT string_agg(file_name || ':' || line_number || ': ' || error, '; ') FROM pg_hba_file_rules WHERE error IS NOT NULL))")
[ -z "$rejected" ] || { echo "PostgreSQL rejected its configuration and keeps the previous one: $rejected" >&2; exit 1; }`;

/**
 * Whether PostgreSQL needs a restart, and why: its unit file changed after it started (a new
 * ExecStart or sandboxing applies at start), or a setting it read at its last reload applies at
 * start only (pg_settings.pending_restart: PostgreSQL itself says which, no list kept here).
 */
const restartNeededScript = `set -eu
systemctl is-active --quiet postgresql.service || { echo 'no: PostgreSQL is not running (its next start applies everything)'; exit 0; }
q() { ${psql('postgres')
  .map((word) => `'${word}'`)
  .join(' ')} --command="$1"; }
started=$(systemctl show --property=ActiveEnterTimestamp --timestamp=unix --value postgresql.service)
started=\${started#@}
why=''
unit=/etc/systemd/system/postgresql.service
[ ! -e "$unit" ] || [ "$(stat -c %Y -- "$unit")" -le "\${started:-0}" ] || why='its unit file changed after it started'
settings=$(q "SELECT string_agg(name, ', ' ORDER BY name) FROM pg_settings WHERE pending_restart")
[ -z "$settings" ] || why="\${why:+$why; }settings that apply at start only changed: $settings"
if [ -n "$why" ]; then echo "yes: $why"; else echo 'no: PostgreSQL runs its current unit and settings'; fi`;

const restartNeeded: Fact<{ needed: boolean; why: string }> = {
  name: 'whether PostgreSQL needs a restart',
  command: ['sh', '-c', restartNeededScript],
  parse: ({ code, stdout, stderr }) => {
    const answer = /^(yes|no): (.*)$/m.exec(stdout);
    if (code !== 0 || !answer)
      throw new Error(
        `cannot tell whether PostgreSQL needs a restart (exit ${code}): ${stderr.trim() || stdout.trim()}`,
      );
    return { needed: answer[1] === 'yes', why: answer[2] ?? '' };
  },
};

/** PostgreSQL 17 for self-managed environments (RDS in production): the replica image's config, the app and monitor roles. */
export const db: Role = {
  name: 'db',
  inputs: () => inputs,
  ingress: [
    // 'db' and 'patroni': the members of security group db (a Patroni node is never in group db).
    {
      port: 5432,
      from: ['api', 'db', 'patroni'],
      why: 'PostgreSQL for the API; streaming replication and pg_rewind between the Patroni nodes',
    },
    {
      port: 8008,
      from: ['api', 'db', 'patroni', 'monitoring'],
      why: "Patroni's REST API: the API-side HAProxy's /primary checks, the peers' member checks, Prometheus' /metrics",
    },
    { port: 9187, from: ['monitoring'], why: 'postgres_exporter for Prometheus', scrape: 'postgres' },
  ],
  // WAL archiving and backups: HTTPS to the repos' S3 endpoints (none with db_backups: false).
  egress: backupEgress,
  tasks,
  handlers: {
    'reload postgresql': { name: 'reload postgresql', commands: [run('sh', '-c', reloadScript)] },
    // The only PostgreSQL: a restart drops every connection, so it waits for --allow-restart db (restart pending till then).
    'restart postgresql': {
      name: 'restart postgresql',
      commands: [run('systemctl', 'restart', 'postgresql.service')],
      needed: restartNeeded,
      disruptive: true,
    },
    'restart postgres exporter': {
      name: 'restart postgres exporter',
      commands: [run('systemctl', 'restart', '--', exporterUnit)],
    },
  },
};
