// docker-compose.yml as Compose itself resolves it (`docker compose config`): the shape of the
// replica's networks and entry points, checked before anything is built.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig } from '../../api/src/config.js';
import { repoRoot } from '../support/paths.js';

interface ComposeService {
  networks?: Record<string, unknown>;
  cap_drop?: string[];
  cap_add?: string[];
  security_opt?: string[];
  read_only?: boolean;
  user?: string;
  sysctls?: Record<string, string | number>;
  ports?: { host_ip?: string; published?: string; target: number }[];
  build?: { args?: Record<string, string> };
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
}
interface ComposeModel {
  services: Record<string, ComposeService>;
  networks: Record<string, { internal?: boolean }>;
}

let model: ComposeModel;

before(async () => {
  const { stdout } = await promisify(execFile)('docker', ['compose', 'config', '--format', 'json'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      COMPOSE_PROJECT_NAME: 'refereezy-config-check',
      DB_PASSWORD: 'x',
      MAIL_CATCHALL_PASSWORD: 'x',
      MONITOR_DB_PASSWORD: 'x',
      BASTION_AUTHORIZED_KEYS: 'ssh-ed25519 AAAA test',
      BACKUP_CIPHER_PASS: 'x',
      S3_ACCESS_KEY: 'x',
      S3_SECRET_KEY: 'x',
    },
  });
  model = JSON.parse(stdout) as ComposeModel;
});

const networksOf = (service: string) => Object.keys(model.services[service]?.networks ?? {}).sort();

describe('docker-compose.yml', () => {
  it('puts each service on the networks its security group allows, and no other', () => {
    // assets: the assets bucket's read-only front, the origin of /assets/.
    assert.deepEqual(networksOf('cdn'), ['assets', 'public']);
    assert.deepEqual(networksOf('lb'), ['edge-metrics', 'public']);
    assert.deepEqual(networksOf('web1'), ['app', 'public']);
    assert.deepEqual(networksOf('web2'), ['app', 'public']);
    assert.deepEqual(networksOf('api'), ['app', 'metrics', 'private']);
    assert.deepEqual(networksOf('db'), ['private']);
    assert.deepEqual(networksOf('bastion'), ['ops', 'public']);
    assert.deepEqual(networksOf('firebase'), ['private']);
    // The replica's S3: only the db (backups) reaches it, on the private network.
    assert.deepEqual(networksOf('s3'), ['private']);
    // Its read-only front for the CDN: the CDN on one side, the store on the other.
    assert.deepEqual(networksOf('assets-origin'), ['assets', 'private']);
    assert.deepEqual(networksOf('mail'), ['monitoring', 'private']);
    assert.deepEqual(networksOf('prometheus'), ['edge-metrics', 'metrics', 'monitoring', 'ops']);
    assert.deepEqual(networksOf('alertmanager'), ['monitoring', 'ops']);
    assert.deepEqual(networksOf('postgres-exporter'), ['metrics', 'private']);
    assert.deepEqual(networksOf('blackbox-exporter'), ['edge-metrics', 'public']);
    assert.deepEqual(networksOf('node-exporter'), ['metrics']);
    for (const service of ['sms-notifier', 'daily-report', 'deadman'])
      assert.deepEqual(networksOf(service), ['monitoring'], service);
    for (const service of ['web1-exporter', 'web2-exporter'])
      assert.deepEqual(networksOf(service), ['edge-metrics', 'public'], service);
  });

  it('makes the app, private and monitoring networks internal', () => {
    assert.equal(model.networks.app?.internal, true);
    assert.equal(model.networks.private?.internal, true);
    assert.equal(model.networks.monitoring?.internal, true);
    assert.equal(model.networks.ops?.internal, true);
    assert.equal(model.networks.metrics?.internal, true);
    assert.equal(model.networks['edge-metrics']?.internal, true);
    assert.notEqual(model.networks.public?.internal, true);
  });

  it('drops every capability of every service, with no-new-privileges, adding back only what the root-started ones need', () => {
    const needs: Record<string, string[]> = {
      web1: ['CHOWN', 'KILL', 'NET_BIND_SERVICE', 'SETGID', 'SETUID'],
      web2: ['CHOWN', 'KILL', 'NET_BIND_SERVICE', 'SETGID', 'SETUID'],
      mail: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL', 'NET_BIND_SERVICE', 'SETGID', 'SETUID', 'SYS_CHROOT'],
      bastion: [
        'AUDIT_WRITE',
        'CHOWN',
        'DAC_OVERRIDE',
        'FOWNER',
        'KILL',
        'NET_BIND_SERVICE',
        'SETGID',
        'SETUID',
        'SYS_CHROOT',
      ],
    };
    for (const [name, service] of Object.entries(model.services)) {
      assert.deepEqual(service.cap_drop, ['ALL'], name);
      assert.deepEqual([...(service.cap_add ?? [])].sort(), needs[name] ?? [], name);
      assert.deepEqual(service.security_opt, ['no-new-privileges:true'], name);
    }
    // Port 80 without a capability: the CDN and the LB run unprivileged.
    for (const name of ['cdn', 'lb'])
      assert.equal(String(model.services[name]?.sysctls?.['net.ipv4.ip_unprivileged_port_start']), '0', name);
  });

  it('keeps the root file system read-only wherever the service writes only its volumes and tmpfs', () => {
    const readOnly = [
      'lb',
      'api',
      'firebase',
      'sms-notifier',
      'deadman',
      'daily-report',
      'node-exporter',
      'postgres-exporter',
      'blackbox-exporter',
      'web1-exporter',
      'web2-exporter',
    ];
    for (const name of readOnly) assert.equal(model.services[name]?.read_only, true, name);
  });

  it("publishes only the CDN's edge (HTTPS, and HTTP that redirects) and the bastion, on 127.0.0.1", () => {
    const published: Record<string, number[]> = { 'cdn-tls': [80, 443], bastion: [22] };
    for (const [name, service] of Object.entries(model.services)) {
      const ports = service.ports ?? [];
      if (published[name]) {
        assert.deepEqual(
          ports.map((port) => port.target).sort((a, b) => a - b),
          published[name],
          name,
        );
        for (const port of ports) assert.equal(port.host_ip, '127.0.0.1', name);
      } else {
        assert.deepEqual(ports, [], `${name} publishes a port`);
      }
    }
  });

  it('builds every image from the base image and starts each service after the healthy one it needs', () => {
    for (const [name, service] of Object.entries(model.services)) {
      assert.equal(service.build?.args?.BASE_IMAGE, 'debian:trixie-slim', name);
    }
    const healthyDependency = (service: string, on: string) => model.services[service]?.depends_on?.[on]?.condition;
    assert.equal(healthyDependency('cdn', 'lb'), 'service_healthy');
    assert.equal(healthyDependency('api', 'db'), 'service_healthy');
    assert.equal(healthyDependency('api', 'firebase'), 'service_healthy');
    assert.equal(healthyDependency('web1', 'api'), 'service_healthy');
  });

  it("gives the API and the database the API role's password under one name, DB_PASSWORD", () => {
    for (const service of ['api', 'db']) {
      const environment = model.services[service]?.environment ?? {};
      assert.equal(environment['DB_PASSWORD'], 'x', service);
      assert.ok(!('APP_DB_PASSWORD' in environment), service);
    }
  });

  it('gives the API an environment its own config accepts: emulators, so not NODE_ENV=production (which its image sets)', () => {
    const environment = { NODE_ENV: 'production', ...model.services.api?.environment };
    assert.notEqual(environment.NODE_ENV, 'production');
    assert.equal(loadConfig(environment).FIREBASE_AUTH_EMULATOR_HOST, 'firebase:9099');
  });
});
