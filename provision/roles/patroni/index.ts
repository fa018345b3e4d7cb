import { parse } from 'yaml';
import { z } from 'zod';
import type { Host } from '../../inventories/schema.js';
import { packages } from '../../operations/apt.js';
import { directory, file } from '../../operations/files.js';
import { run } from '../../operations/operation.js';
import { service } from '../../operations/systemd.js';
import { renderEnvsubst } from '../../templates/envsubst.js';
import { db, postgresqlConfSource } from '../db/index.js';
import { hostCidr, pgHbaTemplate, renderPgHba } from '../db/pg-hba.js';
import { etcdMembers, regionOf } from '../etcd/index.js';
import type { InputNeeds } from '../inputs.js';
import { endpoint, playInputs, type Play, type Role, type Task } from '../role.js';
import { roleVars } from '../vars.js';

/** The image's templates (compose/patroni, compose/db), rendered here for a host: one source each. */
export const patroniTemplate = new URL('../../../compose/patroni/patroni.yml.template', import.meta.url);
export const replicationHbaTemplate = new URL(
  '../../../compose/patroni/pg_hba.replication.conf.template',
  import.meta.url,
);
/** The templates and files the tasks render or install: read before planning. */
const inputs: InputNeeds = { files: [patroniTemplate, replicationHbaTemplate, pgHbaTemplate, postgresqlConfSource] };
/** Debian's patroni.service reads /etc/patroni/config.yml. */
export const patroniConfigFile = '/etc/patroni/config.yml';
export const pgHbaFile = '/var/lib/postgresql/pg_hba.conf';

const secret = z
  .string()
  .min(12, 'at least 12 characters')
  .refine((value) => !/['\0\n\r]/.test(value), 'no quote, NUL or line break');
export const patroniVars = z.object({
  db_name: z.string().default('refereezy'),
  db_user: z.string().default('refereezy'),
  db_monitor_user: z.string().default('monitor'),
  db_replication_password: secret,
  db_rewind_password: secret,
  /** Patroni's REST API basic auth (user patroniRestUser): its unsafe endpoints are refused without it. */
  patroni_restapi_password: secret,
  /** Archive WAL with pgBackRest (its config is the db role's backups part; false: none). */
  db_backups: z.boolean().default(true),
  /** The DR region's cluster: the primary region's database endpoint its standby leader streams from. */
  patroni_standby_source: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, 'a host name or address')
    .optional(),
});

function fail(host: Host, message: string): never {
  throw new Error(`host ${host.name}: role patroni: ${message}`);
}

/** The Patroni cluster's scope, as in the replica: refereezy, and refereezy-dr for the DR region's standby cluster. */
export function scopeOf(host: Host): string {
  return roleVars(patroniVars, host, 'patroni').patroni_standby_source === undefined ? 'refereezy' : 'refereezy-dr';
}

/**
 * The scope of a Patroni node as another host's role sees it (the monitoring role labels its
 * targets with it): the same rule as scopeOf, without the node's secrets, which only its own play needs.
 */
export function clusterOf(host: Host): string {
  return host.vars.patroni_standby_source === undefined ? 'refereezy' : 'refereezy-dr';
}

/** Patroni's REST API: /primary for the proxies, the peers' member checks, /metrics for Prometheus. */
export const patroniRestPort = 8008;
/** The REST API's user for its unsafe endpoints (the template's restapi.authentication.username). */
export const patroniRestUser = 'patroni';

/**
 * Throws unless a rendered patroni.yml authenticates its REST API's unsafe endpoints (the image's
 * entrypoint makes the same check): without it, anyone reaching 8008 can POST /switchover.
 */
export function assertRestApiAuthenticated(rendered: string, source: string): void {
  const config = parse(rendered) as { restapi?: { authentication?: { username?: unknown; password?: unknown } } };
  const auth = config.restapi?.authentication;
  if (
    typeof auth?.username !== 'string' ||
    auth.username === '' ||
    typeof auth.password !== 'string' ||
    auth.password === ''
  )
    throw new Error(
      `${source}: restapi.authentication has no username and password: Patroni's REST API would take POST /switchover, /failover, /restart from anyone reaching port ${patroniRestPort}`,
    );
}

/** /etc/patroni/config.yml for a host: the image's template with the host's name, address, region's etcd and secrets. */
export function renderPatroniConfig(template: string, host: Host, play: Play): string {
  const vars = roleVars(patroniVars, host, 'patroni');
  const etcd = etcdMembers(host, play);
  if (etcd.length === 0)
    fail(host, `no host of group etcd in region ${regionOf(host) || '(none)'}: Patroni keeps the cluster state there`);
  const rendered = renderEnvsubst(
    template,
    {
      PATRONI_SCOPE: scopeOf(host),
      PATRONI_NAME: host.name,
      NODE_HOST: host.address,
      DCS_ETCD_HOSTS: etcd.map((member) => `${member.address}:2379`).join(','),
      NODE_ARCHIVE_MODE: vars.db_backups ? 'on' : 'off',
      PATRONI_REPLICATION_PASSWORD: vars.db_replication_password,
      PATRONI_REWIND_PASSWORD: vars.db_rewind_password,
      PATRONI_RESTAPI_PASSWORD: vars.patroni_restapi_password,
      NODE_NOFAILOVER: 'false',
    },
    'compose/patroni/patroni.yml.template',
  );
  try {
    assertRestApiAuthenticated(rendered, 'compose/patroni/patroni.yml.template');
  } catch (error) {
    fail(host, (error as Error).message);
  }
  if (vars.patroni_standby_source === undefined) return rendered;
  // The DR region: a standby cluster, as the image's entrypoint makes it (DR_STANDBY_SOURCE_HOST).
  return rendered
    .replace(/^ {4}synchronous_mode: true$/m, '    synchronous_mode: false')
    .replace(
      /^ {2}dcs:\n/m,
      `  dcs:\n    standby_cluster:\n      host: ${vars.patroni_standby_source}\n      port: 5432\n      create_replica_methods: [basebackup]\n`,
    )
    .replace(/^ {2}post_bootstrap: .*\n/m, '');
}

/** pg_hba.conf: the db image's template for the API hosts, plus replication from the cluster's nodes. */
export function renderPatroniHba(host: Host, play: Play): string {
  const vars = roleVars(patroniVars, host, 'patroni');
  const apiCidrs = play.hosts.filter((peer) => peer.groups.includes('api')).map((peer) => hostCidr(peer.address));
  const peers = play.hosts.filter((peer) => peer.groups.includes('patroni')).map((peer) => hostCidr(peer.address));
  const values = { APP_DB_NAME: vars.db_name, APP_DB_USER: vars.db_user, MONITOR_DB_USER: vars.db_monitor_user };
  const read = playInputs(play);
  const replication = read.text(replicationHbaTemplate);
  return [
    renderPgHba(read.text(pgHbaTemplate), values, [...apiCidrs, '127.0.0.1/32']),
    ...peers.map((cidr) =>
      renderEnvsubst(
        replication
          .split('\n')
          .filter((line) => !line.startsWith('#'))
          .join('\n'),
        { REPLICATION_PEER_CIDR: cidr },
        'compose/patroni/pg_hba.replication.conf.template',
      ),
    ),
  ].join('\n');
}

function tasks(host: Host, play: Play): Task[] {
  if (host.groups.includes('db'))
    fail(
      host,
      'it is in group db too: under Patroni, PostgreSQL is started, promoted and rewound by Patroni, not by the db role’s postgresql.service',
    );
  const restart = ['reload patroni'];
  const read = playInputs(play);
  return [
    {
      name: 'Install PostgreSQL 17, Patroni and its etcd client',
      operation: packages({ packages: ['postgresql-17', 'patroni', 'python3-etcd', 'pgbackrest'], present: true }),
    },
    {
      name: 'Create /etc/patroni',
      operation: directory({ path: '/etc/patroni', owner: 'postgres', group: 'postgres', mode: '0750' }),
    },
    {
      name: `Write Patroni's configuration ${patroniConfigFile} (the image's template)`,
      operation: file({
        path: patroniConfigFile,
        content: renderPatroniConfig(read.text(patroniTemplate), host, play),
        owner: 'postgres',
        group: 'postgres',
        mode: '0600',
        sensitive: true,
      }),
      notify: restart,
    },
    {
      name: 'Install the house postgresql.conf Patroni builds on',
      operation: file({
        path: '/etc/refereezy/postgresql/postgresql.conf',
        content: read.text(postgresqlConfSource),
        mode: '0644',
      }),
      notify: restart,
    },
    {
      name: `Write pg_hba.conf ${pgHbaFile} (API hosts, the cluster's nodes)`,
      operation: file({
        path: pgHbaFile,
        content: renderPatroniHba(host, play),
        owner: 'postgres',
        group: 'postgres',
        mode: '0640',
      }),
      notify: restart,
    },
    {
      name: 'Keep Patroni enabled and running',
      operation: service({ unit: 'patroni.service', enabled: true, running: true }),
    },
  ];
}

/**
 * PostgreSQL under Patroni (the Multi-AZ pair, and the DR region's standby cluster): the replica
 * image's templates rendered with the inventory's hosts; etcd (role etcd) holds the cluster state.
 */
export const patroni: Role = {
  name: 'patroni',
  inputs: () => inputs,
  // A Patroni node is a member of the db security group (security-groups.yaml: role [db, patroni]):
  // its firewall admits what the group admits (the API; its peers' replication, pg_rewind and REST
  // API calls, named as group patroni; Prometheus). The peers, etcd and the API-side proxy are
  // reached through their ingress; the DR region's standby leader also streams from the primary
  // region's endpoint, which may be a name outside the inventory.
  ingress: db.ingress,
  egress: (host) => {
    const source = patroniVars.shape.patroni_standby_source.catch(undefined).parse(host.vars.patroni_standby_source);
    return source === undefined
      ? []
      : [
          {
            port: 5432,
            to: endpoint(source),
            why: `the primary region's PostgreSQL (${source}), the standby cluster's source`,
          },
        ];
  },
  tasks,
  handlers: {
    // A reload, never a restart: Patroni applies what it can and reports pending restarts itself.
    'reload patroni': { name: 'reload patroni', commands: [run('systemctl', 'reload', 'patroni.service')] },
  },
};
