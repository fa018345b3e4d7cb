import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { commandLine } from '../../../provision/core/shell.js';
import type { Host } from '../../../provision/inventories/schema.js';
import type { Plan } from '../../../provision/operations/operation.js';
import { clientCidrs, db, exporterDataSource } from '../../../provision/roles/db/index.js';
import { api } from '../../../provision/roles/api/index.js';
import { hostCidr, pgHbaTemplate, renderPgHba } from '../../../provision/roles/db/pg-hba.js';
import { literal, pgRoleFact } from '../../../provision/facts/postgres.js';
import {
  planPgDatabase,
  planPgRole,
  planPublicSchema,
  scramVerifierMatches,
} from '../../../provision/operations/postgres.js';
import type { UnitServiceFact } from '../../../provision/facts/systemd.js';
import { planUnitService } from '../../../provision/operations/systemd.js';
import { roleInputs } from '../../support/role-inputs.js';

const host = (name: string, groups: string[], address: string, vars: Record<string, unknown> = {}): Host => ({
  name,
  address,
  port: 22,
  groups,
  vars,
});
const secrets = { db_password: 'app password 1234', db_monitor_password: 'monitor-password-1234', db_backups: false };
const db1 = host('db1', ['db'], '10.0.3.10', secrets);
const api1 = host('api1', ['api'], '10.0.2.10');
const api2 = host('api2', ['api'], '10.0.2.11');
const web1 = host('web1', ['web'], '10.0.1.10');
const inputs = await roleInputs(db, [db1]);

const lines = (plan: Plan) => plan.commands.map((command) => commandLine(command.argv));
const psql = (database: string) =>
  `runuser -u postgres -- psql --no-psqlrc --quiet --no-align --tuples-only --set=ON_ERROR_STOP=1 --dbname=${database}`;
/** Verifiers PostgreSQL 17 wrote (the replica image, password_encryption = scram-sha-256). */
const pencil =
  'SCRAM-SHA-256$4096:VDOsIHHlbhKvfBNTdFcs/Q==$aQnt+P4EP/ER31GjrfUJsza7AOBGw+Y2lnJrkrqpnUg=:lL2853Sb39aOuoRxh4ry2nFIjS1Rw8hjbU/P7vfBn+E=';
const accented =
  'SCRAM-SHA-256$4096:m1642+O1YDI4DpeNswH06Q==$JLKdjMq2OXOXosvDNtRZp2t/n0/7KdKrVnq5bMzwq3Y=:hriH3SGmUs0o5kbBJVsm3jMXWQkj5zR2lmgTHocFSps=';

describe('db role: pg_hba from the replica image’s template', () => {
  const values = { APP_DB_NAME: 'refereezy', APP_DB_USER: 'refereezy', MONITOR_DB_USER: 'monitor' };
  const template = readFileSync(pgHbaTemplate, 'utf8');

  it('when there is one client CIDR, then the file is byte for byte what the image’s envsubst renders', () => {
    const expected = execFileSync('envsubst', ['${APP_DB_NAME} ${APP_DB_USER} ${APP_CLIENT_CIDR} ${MONITOR_DB_USER}'], {
      input: template,
      env: { PATH: process.env.PATH, ...values, APP_CLIENT_CIDR: '10.0.2.10/32' },
    }).toString();
    assert.equal(renderPgHba(template, values, ['10.0.2.10/32']), expected);
  });

  it('when there are several api hosts, then each gets its own host lines (/32) and the rest is rendered once', () => {
    const rendered = renderPgHba(template, values, clientCidrs(db1, { hosts: [db1, api1, api2, web1] }));
    const rules = rendered
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.split(/\s+/).join(' '));
    assert.deepEqual(rules, [
      'local all postgres peer',
      'host refereezy refereezy 10.0.2.10/32 scram-sha-256',
      'host refereezy refereezy 10.0.2.11/32 scram-sha-256',
      'host refereezy refereezy 127.0.0.1/32 scram-sha-256',
      'host refereezy monitor 10.0.2.10/32 scram-sha-256',
      'host refereezy monitor 10.0.2.11/32 scram-sha-256',
      'host refereezy monitor 127.0.0.1/32 scram-sha-256',
    ]);
    assert.doesNotMatch(rendered, /10\.0\.1\.10/, 'web1 is no client');
  });

  it('when an address is an IP, a CIDR or a name, then it is the host alone, kept, or refused', () => {
    assert.equal(hostCidr('10.0.2.10'), '10.0.2.10/32');
    assert.equal(hostCidr('fd00::10'), 'fd00::10/128');
    assert.equal(hostCidr('10.0.2.0/24'), '10.0.2.0/24');
    assert.throws(() => hostCidr('api1.internal'), /"api1\.internal" is neither an IP address nor a CIDR/);
    assert.throws(
      () => clientCidrs(db1, { hosts: [db1, host('api3', ['api'], 'api3.internal')] }),
      /^Error: host db1: role db: api host api3: /,
    );
  });

  it('when the vault lacks a password, then the error names the host, the role and the var (never a value)', () => {
    assert.throws(
      () => db.tasks(host('db1', ['db'], '10.0.3.10', { db_password: 'short' }), { hosts: [], inputs }),
      /^Error: host db1: role db: vars\.db_password: at least 12 characters; vars\.db_monitor_password: /,
    );
  });

  it("when the inventory names the API role's password otherwise than db_password, then the db and api roles say it was renamed", () => {
    for (const old of ['APP_DB_PASSWORD', 'DB_PASSWORD', 'app_db_password']) {
      const target = host('db1', ['db'], '10.0.3.10', { ...secrets, [old]: 'app password 1234' });
      const expected = new RegExp(`^Error: host db1: role (db|api): vars\\.${old}: renamed db_password`);
      assert.throws(() => db.tasks(target, { hosts: [], inputs }), expected);
      assert.throws(() => api.tasks({ ...target, groups: ['api'] }, { hosts: [target] }), expected);
    }
  });

  it('when the exporter’s password has whitespace, then the role refuses it (postgres_exporter could not connect)', () => {
    assert.throws(
      () =>
        db.tasks(host('db1', ['db'], '10.0.3.10', { ...secrets, db_monitor_password: 'monitor password 1234' }), {
          hosts: [],
        }),
      /^Error: host db1: role db: vars\.db_monitor_password: no whitespace/,
    );
  });

  it("then the role serves 5432 to the api group and security group db's members (replication), Patroni's REST API to the api group, its peers and monitoring (/metrics), and the exporter to monitoring", () => {
    assert.deepEqual(
      db.ingress?.map((rule) => [rule.port, rule.from]),
      [
        [5432, ['api', 'db', 'patroni']],
        [8008, ['api', 'db', 'patroni', 'monitoring']],
        [9187, ['monitoring']],
      ],
    );
  });

  it('when the exporter’s password has URL characters, then every byte is percent-encoded, as the image’s entrypoint does', () => {
    assert.equal(
      exporterDataSource('monitor', "a@b/c'", 'refereezy'),
      'postgresql://monitor:%61%40%62%2f%63%27@127.0.0.1:5432/refereezy?sslmode=disable',
    );
  });
});

describe('db role: SCRAM verifiers (the password drift check)', () => {
  it('when the password is the one PostgreSQL hashed, then it matches; any other does not', () => {
    assert.equal(scramVerifierMatches(pencil, 'pencil'), true);
    assert.equal(scramVerifierMatches(pencil, 'pencil '), false);
    assert.equal(scramVerifierMatches(accented, `p'a"s$s é`), true);
    assert.equal(scramVerifierMatches('md5d41d8cd98f00b204e9800998ecf8427e', 'pencil'), false);
    assert.equal(scramVerifierMatches('', 'pencil'), false);
  });
});

describe('db role: roles, database and schema as tables', () => {
  const role = { login: true, verifier: pencil, memberOf: [] as string[] };
  const rows: { when: string; plan: () => Plan; sql: string[]; reason: RegExp }[] = [
    {
      when: 'the role is absent',
      plan: () => planPgRole({ name: 'refereezy', password: "it's secret" }, { answered: true, value: null }),
      sql: [`CREATE ROLE "refereezy" LOGIN PASSWORD 'it''s secret';`],
      reason: /^create login role refereezy$/,
    },
    {
      when: 'PostgreSQL does not answer yet (a --check on a fresh host)',
      plan: () =>
        planPgRole({ name: 'monitor', password: 'pencil', memberOf: ['pg_monitor'] }, { answered: false, value: null }),
      sql: [`CREATE ROLE "monitor" LOGIN PASSWORD 'pencil' IN ROLE "pg_monitor";`],
      reason: /^create login role monitor in pg_monitor \(PostgreSQL does not answer yet\)$/,
    },
    {
      when: 'the role has the password',
      plan: () => planPgRole({ name: 'refereezy', password: 'pencil' }, { answered: true, value: role }),
      sql: [],
      reason: /^role refereezy can log in with the desired password$/,
    },
    {
      when: 'the password differs',
      plan: () => planPgRole({ name: 'refereezy', password: 'crayon' }, { answered: true, value: role }),
      sql: [`ALTER ROLE "refereezy" LOGIN PASSWORD 'crayon';`],
      reason: /^role refereezy: set its password \(it differs\)$/,
    },
    {
      when: 'a membership is missing',
      plan: () =>
        planPgRole({ name: 'monitor', password: 'pencil', memberOf: ['pg_monitor'] }, { answered: true, value: role }),
      sql: ['GRANT "pg_monitor" TO "monitor";'],
      reason: /^role monitor: grant pg_monitor$/,
    },
    {
      when: 'the database is absent',
      plan: () => planPgDatabase({ name: 'refereezy', owner: 'refereezy' }, { answered: true, value: null }),
      sql: ['CREATE DATABASE "refereezy" OWNER "refereezy";'],
      reason: /^create database refereezy owned by refereezy$/,
    },
    {
      when: 'the database has its owner',
      plan: () => planPgDatabase({ name: 'refereezy', owner: 'refereezy' }, { answered: true, value: 'refereezy' }),
      sql: [],
      reason: /exists, owned by refereezy/,
    },
    {
      when: 'the database has another owner',
      plan: () => planPgDatabase({ name: 'refereezy', owner: 'refereezy' }, { answered: true, value: 'postgres' }),
      sql: ['ALTER DATABASE "refereezy" OWNER TO "refereezy";'],
      reason: /owner postgres → refereezy/,
    },
    {
      when: 'PUBLIC may still use the public schema (PostgreSQL’s default)',
      plan: () =>
        planPublicSchema(
          { database: 'refereezy', user: 'refereezy' },
          { answered: true, value: ['pg_database_owner=UC/pg_database_owner', '=U/pg_database_owner'] },
        ),
      sql: ['REVOKE ALL ON SCHEMA public FROM PUBLIC;', 'GRANT ALL ON SCHEMA public TO "refereezy";'],
      reason: /revoke it from PUBLIC, grant it to refereezy/,
    },
    {
      when: 'only the owner and the application role may use it',
      plan: () =>
        planPublicSchema(
          { database: 'refereezy', user: 'refereezy' },
          { answered: true, value: ['pg_database_owner=UC/pg_database_owner', 'refereezy=UC/pg_database_owner'] },
        ),
      sql: [],
      reason: /only refereezy \(and its owner\) may use it/,
    },
  ];
  for (const row of rows) {
    it(`when ${row.when}, then ${row.sql.length === 0 ? 'nothing is needed' : row.sql.join(' ')}`, () => {
      const plan = row.plan();
      assert.match(plan.reason, row.reason);
      assert.equal(plan.changed, row.sql.length > 0);
      if (row.sql.length === 0) return assert.deepEqual(plan.commands, []);
      const [command] = plan.commands;
      assert.equal(plan.commands.length, 1);
      assert.ok(command);
      // The SQL (a password with it) is psql's stdin; the argument vector is the same for every statement.
      assert.equal(commandLine(command.argv), psql(/SCHEMA/.test(row.sql[0] ?? '') ? 'refereezy' : 'postgres'));
      assert.equal(
        command.stdin,
        ['SET log_statement = none;', 'SET log_min_duration_statement = -1;', ...row.sql, ''].join('\n'),
      );
    });
  }

  it('when a password is planned, then neither the reason nor the command line carries it', () => {
    for (const plan of [
      planPgRole({ name: 'refereezy', password: 'hunter2hunter2' }, { answered: true, value: null }),
      planPgRole({ name: 'refereezy', password: 'hunter2hunter2' }, { answered: true, value: role }),
    ]) {
      assert.doesNotMatch(`${plan.reason}\n${lines(plan).join('\n')}`, /hunter2/);
    }
  });

  it('when pg_authid answers, then the role is parsed; when PostgreSQL does not, then it is unknown', () => {
    const fact = pgRoleFact('monitor');
    assert.deepEqual(fact.parse({ code: 0, stdout: `t|${pencil}|pg_monitor\n`, stderr: '' }), {
      answered: true,
      value: { login: true, verifier: pencil, memberOf: ['pg_monitor'] },
    });
    assert.deepEqual(fact.parse({ code: 0, stdout: '', stderr: '' }), { answered: true, value: null });
    assert.deepEqual(fact.parse({ code: 2, stdout: '', stderr: 'psql: error: connection to server on socket …' }), {
      answered: false,
      value: null,
    });
    assert.throws(() => pgRoleFact('x"; DROP'), /not a plain PostgreSQL identifier/);
  });

  it('when a literal holds quotes, then they are doubled', () => {
    assert.equal(literal(`it's "x"`), `'it''s "x"'`);
  });
});

describe('db role: PostgreSQL running from the role’s unit', () => {
  const fragment = '/etc/systemd/system/postgresql.service';
  const fact = (extra: Partial<UnitServiceFact>): UnitServiceFact => ({
    load: 'loaded',
    enabled: 'enabled',
    active: 'active',
    sub: 'running',
    fragment,
    needDaemonReload: false,
    ...extra,
  });
  const rows: { when: string; current: UnitServiceFact; commands: string[]; reason: RegExp }[] = [
    {
      when: 'the server runs from the unit',
      current: fact({}),
      commands: [],
      reason: /^service postgresql\.service is enabled and running from \/etc\/systemd\/system\/postgresql\.service$/,
    },
    {
      when: 'Debian’s umbrella unit "runs" (a oneshot that exited)',
      current: fact({ sub: 'exited' }),
      commands: ['systemctl restart -- postgresql.service'],
      reason: /start \(active\/exited\)/,
    },
    {
      when: 'systemd still has the packaged unit loaded',
      current: fact({ fragment: '/usr/lib/systemd/system/postgresql.service', sub: 'exited' }),
      commands: ['systemctl daemon-reload', 'systemctl restart -- postgresql.service'],
      reason: /reload systemd \(it is loaded from \/usr\/lib\/systemd\/system\/postgresql\.service/,
    },
    {
      when: 'the unit changed under a running server',
      current: fact({ needDaemonReload: true }),
      commands: ['systemctl daemon-reload', 'systemctl restart -- postgresql.service'],
      reason: /restart with the new unit/,
    },
    {
      when: 'it is disabled and stopped',
      current: fact({ enabled: 'disabled', active: 'inactive', sub: 'dead' }),
      commands: ['systemctl enable -- postgresql.service', 'systemctl restart -- postgresql.service'],
      reason: /enable, start/,
    },
  ];
  for (const row of rows) {
    it(`when ${row.when}, then ${row.commands.length === 0 ? 'nothing is needed' : row.commands.join(' ; ')}`, () => {
      const plan = planUnitService({ unit: 'postgresql.service', fragment }, row.current);
      assert.deepEqual(lines(plan), row.commands);
      assert.match(plan.reason, row.reason);
    });
  }
});

describe('db role: restarts are the operator’s choice', () => {
  const restart = db.handlers['restart postgresql'];
  const planned = db.tasks(db1, { hosts: [db1, api1], inputs });

  it('when postgresql.conf or the unit changes, then the reload and the restart are notified, the reload first', () => {
    assert.deepEqual(planned.find((task) => task.name.startsWith('Install postgresql.conf'))?.notify, [
      'reload postgresql',
      'restart postgresql',
    ]);
    assert.deepEqual(planned.find((task) => task.name.startsWith('Install the postgresql unit'))?.notify, [
      'restart postgresql',
    ]);
  });

  it('when the restart handler is declared, then it is disruptive and asks PostgreSQL whether it is needed; the reload never restarts', () => {
    assert.ok(restart);
    assert.equal(restart.disruptive, true);
    assert.ok(restart.needed);
    assert.doesNotMatch(JSON.stringify(db.handlers['reload postgresql']?.commands), /systemctl restart/);
    assert.match(restart.needed.command.join(' '), /pending_restart/);
  });

  const rows: { when: string; stdout: string; needed: boolean; why: string }[] = [
    {
      when: 'a start-only setting changed',
      stdout: 'yes: settings that apply at start only changed: max_connections, shared_buffers\n',
      needed: true,
      why: 'settings that apply at start only changed: max_connections, shared_buffers',
    },
    {
      when: 'the unit changed after the start',
      stdout: 'yes: its unit file changed after it started\n',
      needed: true,
      why: 'its unit file changed after it started',
    },
    {
      when: 'only reload-time settings changed',
      stdout: 'no: PostgreSQL runs its current unit and settings\n',
      needed: false,
      why: 'PostgreSQL runs its current unit and settings',
    },
  ];
  for (const row of rows) {
    it(`when ${row.when}, then a restart is ${row.needed ? '' : 'not '}needed`, () => {
      assert.deepEqual(restart?.needed?.parse({ code: 0, stdout: row.stdout, stderr: '' }), {
        needed: row.needed,
        why: row.why,
      });
    });
  }

  it('when the probe fails, then the handler fails naming the cause (never a silent restart or skip)', () => {
    assert.throws(
      () => restart?.needed?.parse({ code: 2, stdout: '', stderr: 'psql: error: connection refused\n' }),
      /cannot tell whether PostgreSQL needs a restart \(exit 2\): psql: error: connection refused/,
    );
  });
});
