import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { Host } from '../../../provision/inventories/schema.js';
import { renderRuleset } from '../../../provision/operations/nftables.js';
import { firewallRuleset } from '../../../provision/roles/common/firewall.js';
import { etcd } from '../../../provision/roles/etcd/index.js';
import { playOf } from '../../../provision/roles/index.js';
import {
  assertRestApiAuthenticated,
  patroni,
  patroniRestUser,
  patroniTemplate,
  renderPatroniConfig,
  renderPatroniHba,
  scopeOf,
} from '../../../provision/roles/patroni/index.js';
import { playRoles } from '../../../provision/roles/role.js';
import { roleInputs } from '../../support/role-inputs.js';

const secrets = {
  db_replication_password: 'replication-secret-1',
  db_rewind_password: 'rewind-secret-12',
  patroni_restapi_password: 'restapi-secret-123',
};
const host = (
  name: string,
  address: string,
  groups: string[],
  region: string,
  extra: Record<string, unknown> = {},
): Host => ({ name, address, port: 22, groups, vars: { region, ...secrets, ...extra } });
const db1 = host('db1', '10.0.3.10', ['patroni'], 'eu-west-1');
const db2 = host('db2', '10.0.7.10', ['patroni'], 'eu-west-1');
const dbDr = host('db-dr1', '10.1.3.10', ['patroni'], 'eu-central-1', {
  patroni_standby_source: 'db.internal.refereezy.example',
});
const etcds = ['10.0.3.21', '10.0.7.21', '10.0.3.22'].map((address, index) =>
  host(`etcd${index + 1}`, address, ['etcd'], 'eu-west-1'),
);
const etcdDr = host('etcd-dr1', '10.1.3.21', ['etcd'], 'eu-central-1');
const api1 = host('api1', '10.0.2.10', ['api'], 'eu-west-1');
const hosts = [db1, db2, dbDr, ...etcds, etcdDr, api1];
const play = { hosts, inputs: await roleInputs(patroni, hosts) };
const template = readFileSync(patroniTemplate, 'utf8');

interface PatroniConfig {
  scope: string;
  name: string;
  etcd3: { hosts: string };
  restapi: { connect_address: string; authentication?: { username: string; password: string } };
  bootstrap: {
    dcs: { synchronous_mode: boolean; standby_cluster?: { host: string }; postgresql: { use_pg_rewind: boolean } };
    post_bootstrap?: string;
  };
  postgresql: { authentication: { replication: { password: string } } };
}

describe('patroni role: the image template rendered for a host', () => {
  it("when a primary-region node renders, then it joins scope refereezy, its region's etcd, synchronous with pg_rewind", () => {
    const config = parse(renderPatroniConfig(template, db2, play)) as PatroniConfig;
    assert.equal(config.scope, 'refereezy');
    assert.equal(config.name, 'db2');
    assert.equal(config.restapi.connect_address, '10.0.7.10:8008');
    assert.equal(config.etcd3.hosts, '10.0.3.21:2379,10.0.7.21:2379,10.0.3.22:2379');
    assert.equal(config.bootstrap.dcs.synchronous_mode, true);
    assert.equal(config.bootstrap.dcs.postgresql.use_pg_rewind, true);
    assert.equal(config.postgresql.authentication.replication.password, 'replication-secret-1');
  });

  it('when the DR node renders, then it is a standby cluster of its own scope and etcd, streaming from the primary region', () => {
    const config = parse(renderPatroniConfig(template, dbDr, play)) as PatroniConfig;
    assert.equal(scopeOf(dbDr), 'refereezy-dr');
    assert.equal(config.etcd3.hosts, '10.1.3.21:2379');
    assert.equal(config.bootstrap.dcs.standby_cluster?.host, 'db.internal.refereezy.example');
    assert.equal(config.bootstrap.dcs.synchronous_mode, false);
    assert.equal(config.bootstrap.post_bootstrap, undefined);
  });

  it('when pg_hba renders, then the API hosts reach the app database and only the nodes replicate', () => {
    const hba = renderPatroniHba(db1, play);
    assert.match(hba, /^host +refereezy +refereezy +10\.0\.2\.10\/32 +scram-sha-256$/m);
    assert.match(hba, /^host +replication +replicator +10\.0\.7\.10\/32 +scram-sha-256$/m);
    assert.doesNotMatch(hba, /replication +replicator +10\.0\.2\.10/);
  });

  for (const secret of ['db_rewind_password', 'patroni_restapi_password']) {
    it(`when the secret ${secret} is missing, then the role names the host and the var`, () => {
      assert.throws(
        () =>
          renderPatroniConfig(
            template,
            host('db3', '10.0.3.11', ['patroni'], 'eu-west-1', { [secret]: undefined }),
            play,
          ),
        new RegExp(`host db3: role patroni: vars\\.${secret}`),
      );
    });
  }

  it("when a node's and an etcd member's firewalls are rendered, then Prometheus is admitted to Patroni's REST API (8008) and etcd's metrics (2381), never to etcd's client port", () => {
    const mon1 = host('mon1', '10.0.6.30', ['monitoring'], 'eu-west-1');
    const withMonitoring = playOf([...play.hosts, mon1], {
      host: 'bastion.example',
      port: 22,
      user: 'ops',
      private_address: '10.0.0.10',
    });
    const admitted = (rules: readonly { port: number; from: 'anywhere' | readonly string[] }[], port: number) =>
      rules
        .filter((rule) => rule.port === port)
        .flatMap((rule) => (rule.from === 'anywhere' ? ['anywhere'] : rule.from));
    const node = firewallRuleset(db1, withMonitoring, [patroni]).rules;
    assert.ok(admitted(node, 8008).includes('10.0.6.30'), JSON.stringify(node));
    assert.ok(admitted(node, 8008).includes('10.0.2.10'), 'the API still reaches /primary');
    const member = firewallRuleset(etcds[0] as Host, withMonitoring, [etcd]).rules;
    assert.deepEqual(admitted(member, 2381), ['10.0.6.30']);
    assert.equal(admitted(member, 2379).includes('10.0.6.30'), false);
  });
});

describe("patroni: the REST API's unsafe endpoints need basic auth (image and role, one template)", () => {
  const entrypoint = readFileSync(new URL('../../../compose/patroni/entrypoint.sh', import.meta.url), 'utf8');

  it('when the role renders a node, then restapi.authentication carries the fixed user and the vault password', () => {
    const config = parse(renderPatroniConfig(template, db1, play)) as PatroniConfig;
    assert.deepEqual(config.restapi.authentication, { username: patroniRestUser, password: 'restapi-secret-123' });
  });

  it("when the image's entrypoint renders it (its own envsubst line), then the same user and the environment's password", () => {
    const variables = /envsubst '([^']*)' \\\n\s*<\/etc\/refereezy\/patroni\/patroni\.yml\.template/.exec(
      entrypoint,
    )?.[1];
    assert.ok(variables, 'the entrypoint renders patroni.yml.template with envsubst');
    const rendered = spawnSync('envsubst', [variables], {
      input: template,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        PATRONI_RESTAPI_PASSWORD: 'image-restapi-pw',
        NODE_HOST: 'db1',
      },
    });
    assert.equal(rendered.status, 0, rendered.stderr);
    const config = parse(rendered.stdout) as PatroniConfig;
    assert.deepEqual(config.restapi.authentication, { username: patroniRestUser, password: 'image-restapi-pw' });
    assert.doesNotThrow(() => assertRestApiAuthenticated(rendered.stdout, 'image'));
  });

  it('when a template has no restapi.authentication, then the role refuses to render it, naming the risk', () => {
    const open = template.replace(/^ {2}authentication:\n {4}username: .*\n {4}password: .*\n/m, '');
    assert.notEqual(open, template);
    assert.throws(
      () => renderPatroniConfig(open, db1, play),
      /host db1: role patroni: .*restapi\.authentication has no username and password: .*POST \/switchover/,
    );
  });

  it('when the image starts without PATRONI_RESTAPI_PASSWORD, then its entrypoint stops before rendering', () => {
    const result = spawnSync(
      'bash',
      [fileURLToPath(new URL('../../../compose/patroni/entrypoint.sh', import.meta.url))],
      {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          DB_PASSWORD: 'x',
          MONITOR_DB_PASSWORD: 'y',
          PATRONI_REPLICATION_PASSWORD: 'r',
          PATRONI_REWIND_PASSWORD: 'w',
          DCS_ETCD_HOSTS: 'etcd1:2379',
        },
      },
    );
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /PATRONI_RESTAPI_PASSWORD must be set/);
  });
});

describe("patroni role: a node's nftables ruleset in an HA inventory", () => {
  const web1 = host('web1', '10.0.1.10', ['web'], 'eu-west-1');
  const ha = {
    ...playOf([...hosts, web1], { host: 'bastion.example', port: 22, user: 'ops', private_address: '10.0.0.10' }),
    inputs: play.inputs,
  };
  const ruleset = (node: Host) => renderRuleset(firewallRuleset(node, ha, playRoles(ha)(node)));
  /** Whether the rendered input chain accepts `source` on `port` (a rule naming the port and the address, or anywhere). */
  const accepts = (script: string, port: number, source: string) => {
    const input = script.slice(script.indexOf('chain input'), script.indexOf('chain forward'));
    return input
      .split('\n')
      .filter((line) => line.includes(`dport ${port} `) && line.includes(' accept'))
      .some((line) => !line.includes('saddr') || new RegExp(`[{ ]${source.replace(/\./g, '\\.')}[,} ]`).test(line));
  };
  /** Whether the output chain lets `node` open `port` on `address`. */
  const reaches = (script: string, port: number, address: string) =>
    script
      .slice(script.indexOf('chain output'))
      .split('\n')
      .some((line) => line.includes(`dport ${port} `) && line.includes(` ${address}`) && line.includes(' accept'));

  it("when db1's firewall renders, then its peer db2 (and the DR node) reach PostgreSQL 5432 and Patroni's REST API 8008, a web host neither", () => {
    const script = ruleset(db1);
    for (const port of [5432, 8008]) {
      assert.ok(accepts(script, port, '10.0.7.10'), `db2 → db1:${port}\n${script}`);
      assert.ok(accepts(script, port, '10.1.3.10'), `db-dr1 → db1:${port} (the standby cluster streams)`);
      assert.equal(accepts(script, port, '10.0.1.10'), false, `web1 → db1:${port} must be refused\n${script}`);
    }
    assert.ok(accepts(script, 5432, '10.0.2.10'), 'the API still reaches PostgreSQL');
    assert.equal(accepts(script, 2379, '10.0.7.10'), false, 'a node serves no etcd');
  });

  it("when db2's firewall renders, then it may open db1's 5432 and 8008 and its region's etcd client port, and the etcd members admit it", () => {
    const script = ruleset(db2);
    assert.ok(reaches(script, 5432, '10.0.3.10'), script);
    assert.ok(reaches(script, 8008, '10.0.3.10'), script);
    for (const member of ['10.0.3.21', '10.0.7.21', '10.0.3.22']) assert.ok(reaches(script, 2379, member), member);
    const etcd1 = ruleset(etcds[0] as Host);
    assert.ok(accepts(etcd1, 2379, '10.0.7.10'), `db2 → etcd1:2379\n${etcd1}`);
    assert.equal(accepts(etcd1, 2379, '10.0.1.10'), false, 'web1 → etcd1:2379 must be refused');
  });

  it("when the DR node's firewall renders, then it may stream from the primary region's endpoint (a name: anywhere on 5432)", () => {
    const script = ruleset(dbDr);
    assert.match(
      script,
      /tcp dport 5432 accept comment "patroni: the primary region's PostgreSQL \(db\.internal\.refereezy\.example\)/,
    );
  });

  it("when pg_hba renders, then replication and pg_rewind are admitted from the Patroni nodes' own addresses and no other host", () => {
    const hba = renderPatroniHba(db1, ha);
    const peersOf = (user: string) =>
      hba
        .split('\n')
        .filter((line) => new RegExp(`^host +\\S+ +${user} `).test(line))
        .map((line) => line.split(/ +/)[3]);
    assert.deepEqual(peersOf('replicator'), ['10.0.3.10/32', '10.0.7.10/32', '10.1.3.10/32']);
    assert.deepEqual(peersOf('rewinder'), ['10.0.3.10/32', '10.0.7.10/32', '10.1.3.10/32']);
    assert.doesNotMatch(hba, /10\.0\.1\.10|10\.0\.3\.2\d/, 'no web host, no etcd member');
  });
});
