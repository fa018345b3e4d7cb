import { z } from 'zod';
import { ConfigError, loadConfig } from '../../../api/src/config.js';
import type { Host } from '../../inventories/schema.js';
import { packages } from '../../operations/apt.js';
import { command } from '../../operations/command.js';
import { directory, file } from '../../operations/files.js';
import { run } from '../../operations/operation.js';
import { service, unitFile } from '../../operations/systemd.js';
import { releaseTasks } from '../../releases/deploy.js';
import { renderEnvironmentFile } from '../../templates/environment-file.js';
import { dbVars, oldPasswordNames } from '../db/index.js';
import type { InputNeeds } from '../inputs.js';
import { endpoint, playInputs, type Play, type Role, type Task } from '../role.js';
import { roleVars } from '../vars.js';
import { address, port } from '../../validation/validators.js';
import { apiPackage } from './release.js';

const unitSource = new URL('./api.service', import.meta.url);
export const root = '/opt/refereezy/api';
export const environmentFile = '/etc/refereezy/api.env';
const credentialsFile = '/etc/refereezy/google-credentials.json';
const apiPort = 3000;
const metricsPort = 9464;
/** Releases kept on a host (the current one always): room to roll back. */
const keptReleases = 3;

const hostPort = z.string().regex(/^[\w.-]+:\d+$/, 'host:port');
const vars = dbVars.pick({ db_name: true, db_user: true, db_password: true }).extend({
  ...oldPasswordNames,
  /** The database's address: RDS's endpoint in production; by default the inventory's db host. */
  db_host: address.optional(),
  db_port: port.default(5432),
  api_log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /** The Firebase project whose ID tokens the API accepts (the API's default is the replica's). */
  firebase_project_id: z.string().optional(),
  /** Google's service-account (or workload identity federation) JSON, from the vault: Firestore and Auth in production. */
  google_credentials: z
    .string()
    .refine((text) => {
      try {
        return typeof JSON.parse(text) === 'object';
      } catch {
        return false;
      }
    }, 'a JSON credentials file')
    .optional(),
  /**
   * Emulators: always refused here (by the API's own schema, below), since provisioned hosts run
   * NODE_ENV=production and the emulators accept unsigned tokens. Kept in the schema so that an
   * inventory setting them fails the run, naming them, rather than being silently ignored.
   */
  firebase_auth_emulator_host: hostPort.optional(),
  firestore_emulator_host: hostPort.optional(),
  /** A release tar.gz built elsewhere (CI); by default built here from api/. */
  api_release_file: z.string().optional(),
});

/** The database host: db_host, else the one host of the inventory's db group. */
function databaseHost(host: Host, play: Play, explicit: string | undefined): string {
  if (explicit !== undefined) return explicit;
  const dbHosts = play.hosts.filter((peer) => peer.groups.includes('db'));
  const [only] = dbHosts;
  if (only && dbHosts.length === 1) return only.address;
  throw new Error(
    `host ${host.name}: role api: set vars.db_host (${dbHosts.length === 0 ? 'no host is in group db' : `group db has ${dbHosts.length} hosts: ${dbHosts.map((peer) => peer.name).join(', ')}`})`,
  );
}

/** The API's environment, checked with the API's own schema (api/src/config.ts) before it is written. */
export function apiEnvironment(host: Host, play: Play): Record<string, string> {
  const v = roleVars(vars, host, 'api');
  const environment: Record<string, string> = {
    NODE_ENV: 'production',
    API_PORT: String(apiPort),
    METRICS_PORT: String(metricsPort),
    DB_HOST: databaseHost(host, play, v.db_host),
    DB_PORT: String(v.db_port),
    DB_NAME: v.db_name,
    DB_USER: v.db_user,
    DB_PASSWORD: v.db_password,
    LOG_LEVEL: v.api_log_level,
    ...(v.firebase_project_id === undefined ? {} : { FIREBASE_PROJECT_ID: v.firebase_project_id }),
    ...(v.firebase_auth_emulator_host === undefined
      ? {}
      : { FIREBASE_AUTH_EMULATOR_HOST: v.firebase_auth_emulator_host }),
    ...(v.firestore_emulator_host === undefined ? {} : { FIRESTORE_EMULATOR_HOST: v.firestore_emulator_host }),
    ...(v.google_credentials === undefined ? {} : { GOOGLE_APPLICATION_CREDENTIALS: credentialsFile }),
  };
  try {
    loadConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) throw new Error(`host ${host.name}: role api: ${error.message}`);
    throw error;
  }
  return environment;
}

// Polls /readyz (the API answers and reaches Postgres) after a restart; the API migrates before it listens.
const waitReady = `const deadline = Date.now() + 120_000;
for (;;) {
  try {
    const response = await fetch('http://127.0.0.1:${apiPort}/readyz', { signal: AbortSignal.timeout(2_000) });
    if (response.ok) process.exit(0);
  } catch {}
  if (Date.now() > deadline) {
    console.error('the API was not ready within 120 s: journalctl -u api.service');
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000));
}`;

/**
 * The unit and the API's release (the vars' file, or built from api/): read (or built) before
 * planning, once the host's vars and environment are known good.
 */
function inputs(host: Host, play: Play): InputNeeds {
  const v = roleVars(vars, host, 'api');
  apiEnvironment(host, play);
  return { files: [unitSource], releases: [{ pkg: apiPackage, file: v.api_release_file }] };
}

function tasks(host: Host, play: Play): Task[] {
  const v = roleVars(vars, host, 'api');
  const environment = apiEnvironment(host, play);
  const read = playInputs(play);
  const release = read.release({ pkg: apiPackage, file: v.api_release_file });
  return [
    { name: 'Install Node.js', operation: packages({ packages: ['nodejs'], present: true }) },
    {
      name: 'Create the system user refereezy (no login, no home)',
      operation: command({
        argv: [
          'useradd',
          '--system',
          '--no-create-home',
          '--home-dir',
          '/nonexistent',
          '--shell',
          '/usr/sbin/nologin',
          'refereezy',
        ],
        unless: ['id', '-u', 'refereezy'],
      }),
    },
    ...releaseTasks({ root, release, what: 'the API', keep: keptReleases, notify: ['restart api'] }),
    { name: 'Create /etc/refereezy', operation: directory({ path: '/etc/refereezy' }) },
    ...(v.google_credentials === undefined
      ? []
      : [
          {
            name: 'Install the Google credentials',
            operation: file({
              path: credentialsFile,
              content: v.google_credentials,
              group: 'refereezy',
              mode: '0640',
              sensitive: true,
            }),
            notify: ['restart api'],
          },
        ]),
    {
      name: `Write the API's environment ${environmentFile}`,
      operation: file({
        path: environmentFile,
        content: renderEnvironmentFile(environment),
        mode: '0600',
        sensitive: true,
      }),
      notify: ['restart api'],
    },
    {
      name: 'Install the api unit (hardened)',
      operation: unitFile({ name: 'api.service', content: read.text(unitSource) }),
      notify: ['restart api'],
    },
    {
      name: 'Keep the API enabled and running',
      operation: service({ unit: 'api.service', enabled: true, running: true }),
    },
  ];
}

/** The Express API as a systemd service, from a release built here (the image's content, without the image). */
export const api: Role = {
  name: 'api',
  // Rolled one host at a time: a host's restart (which waits for /readyz) ends before the next host starts, so the load balancer always has one.
  serial: 1,
  inputs,
  ingress: [
    { port: apiPort, from: ['web'], why: 'the API, behind the web tier' },
    { port: metricsPort, from: ['monitoring'], why: 'the API’s /metrics for Prometheus', scrape: 'api' },
  ],
  // The database, the mail relay and the web tier are peers (their ingress admits api). Google's
  // APIs (Firebase Auth's keys, Firestore) have no fixed addresses: HTTPS to anywhere.
  egress: (host) => {
    const dbHost = vars.shape.db_host.catch(undefined).parse(host.vars.db_host);
    const dbPort = vars.shape.db_port.catch(5432).parse(host.vars.db_port);
    return [
      { port: 443, to: 'anywhere', why: 'Firebase Auth and Firestore (Google APIs, no fixed addresses)' },
      // A database outside the inventory (RDS): its endpoint, by address or (a name) anywhere on its port.
      ...(dbHost === undefined ? [] : [{ port: dbPort, to: endpoint(dbHost), why: 'PostgreSQL at db_host (RDS)' }]),
    ];
  },
  tasks,
  handlers: {
    'restart api': {
      name: 'restart api',
      commands: [run('systemctl', 'restart', 'api.service'), run('node', '--input-type=module', '--eval', waitReady)],
    },
  },
};
