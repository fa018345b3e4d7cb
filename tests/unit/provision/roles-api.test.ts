import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandLine } from '../../../provision/core/shell.js';
import type { Host } from '../../../provision/inventories/schema.js';
import type { Plan } from '../../../provision/operations/operation.js';
import { releasesFact } from '../../../provision/facts/releases.js';
import { planCurrent, planPrune, planUpload } from '../../../provision/operations/releases.js';
import { renderEnvironmentFile } from '../../../provision/templates/environment-file.js';
import { api, apiEnvironment } from '../../../provision/roles/api/index.js';
import { inputKey } from '../../../provision/roles/api/release.js';

const host = (name: string, groups: string[], address: string, vars: Record<string, unknown> = {}): Host => ({
  name,
  address,
  port: 22,
  groups,
  vars,
});
const secrets = { db_password: 'app password 1234' };
const api1 = host('api1', ['api'], '10.0.2.10', secrets);
const db1 = host('db1', ['db'], '10.0.3.10');
const db2 = host('db2', ['db'], '10.0.3.11');
const lines = (plan: Plan) => plan.commands.map((command) => commandLine(command.argv));
const id = '0123456789abcdef';
const root = '/opt/refereezy/api';

describe('api role: the environment file', () => {
  it('when values hold quotes, dollars, backslashes and backticks, then they are escaped as systemd reads them back', () => {
    assert.equal(
      renderEnvironmentFile({ A: 'plain', B: `p'a"s$s\\w\`d #x` }),
      `A="plain"\nB="p'a\\"s\\$s\\\\w\\\`d #x"\n`,
    );
  });

  it('when a value holds a line break, then nothing is written', () => {
    assert.throws(
      () => renderEnvironmentFile({ DB_PASSWORD: 'a\nB=b' }),
      /^Error: DB_PASSWORD: a control character or line break/,
    );
  });

  it('when the inventory has one db host, then the API connects to it with the vault’s password, in production mode', () => {
    assert.deepEqual(apiEnvironment(api1, { hosts: [api1, db1] }), {
      NODE_ENV: 'production',
      API_PORT: '3000',
      METRICS_PORT: '9464',
      DB_HOST: '10.0.3.10',
      DB_PORT: '5432',
      DB_NAME: 'refereezy',
      DB_USER: 'refereezy',
      DB_PASSWORD: 'app password 1234',
      LOG_LEVEL: 'info',
    });
  });

  it('when db_host (RDS), Firebase and credentials are set, then they are passed on', () => {
    const configured = host('api1', ['api'], '10.0.2.10', {
      ...secrets,
      db_host: 'refereezy.abc.eu-west-1.rds.amazonaws.com',
      firebase_project_id: 'refereezy-prod',
      google_credentials: '{"type":"service_account"}',
    });
    const environment = apiEnvironment(configured, { hosts: [configured] });
    assert.equal(environment.DB_HOST, 'refereezy.abc.eu-west-1.rds.amazonaws.com');
    assert.equal(environment.FIREBASE_PROJECT_ID, 'refereezy-prod');
    assert.equal(environment.GOOGLE_APPLICATION_CREDENTIALS, '/etc/refereezy/google-credentials.json');
    assert.equal(environment.FIREBASE_AUTH_EMULATOR_HOST, undefined);
  });

  it('when the db host is ambiguous or missing, then the error says to set db_host', () => {
    assert.throws(
      () => apiEnvironment(api1, { hosts: [api1, db1, db2] }),
      /^Error: host api1: role api: set vars\.db_host \(group db has 2 hosts: db1, db2\)/,
    );
    assert.throws(
      () => apiEnvironment(api1, { hosts: [api1] }),
      /^Error: host api1: role api: set vars\.db_host \(no host is in group db\)/,
    );
  });

  it('when a value breaks the API’s own config schema, then the role refuses it before anything connects, naming the variable', () => {
    const bad = host('api1', ['api'], '10.0.2.10', { ...secrets, firebase_project_id: 'Not_A_Project' });
    assert.throws(
      () => apiEnvironment(bad, { hosts: [bad, db1] }),
      /^Error: host api1: role api: invalid API environment: FIREBASE_PROJECT_ID: /,
    );
    assert.throws(
      () =>
        apiEnvironment(host('api1', ['api'], '10.0.2.10', { ...secrets, google_credentials: 'not json' }), {
          hosts: [db1],
        }),
      /vars\.google_credentials: a JSON credentials file/,
    );
  });

  it('when the inventory sets an emulator, then the role refuses it before writing anything: hosts run NODE_ENV=production, where emulators accept unsigned tokens', () => {
    for (const [variable, name] of [
      ['firebase_auth_emulator_host', 'FIREBASE_AUTH_EMULATOR_HOST'],
      ['firestore_emulator_host', 'FIRESTORE_EMULATOR_HOST'],
    ] as const) {
      const emulated = host('api1', ['api'], '10.0.2.10', { ...secrets, [variable]: 'firebase.internal:9099' });
      assert.throws(
        () => apiEnvironment(emulated, { hosts: [emulated, db1] }),
        new RegExp(
          `^Error: host api1: role api: invalid API environment: ${name}: must not be set with NODE_ENV=production \\(the emulators accept unsigned tokens\\)`,
        ),
      );
      assert.throws(() => api.tasks(emulated, { hosts: [emulated, db1] }), new RegExp(name));
    }
  });

  it('then the role serves 3000 to the web group and /metrics to monitoring', () => {
    assert.deepEqual(
      api.ingress?.map((rule) => [rule.port, rule.from]),
      [
        [3000, ['web']],
        [9464, ['monitoring']],
      ],
    );
  });

  it('then the role rolls one host at a time, and its restart waits for /readyz before the host is done', () => {
    assert.equal(api.serial, 1);
    const restart = api.handlers['restart api']?.commands.map((command) => command.argv.join(' ')) ?? [];
    assert.equal(restart[0], 'systemctl restart api.service');
    assert.match(restart[1] ?? '', /127\.0\.0\.1:3000\/readyz/);
  });
});

describe('api role: releases', () => {
  const release = { id, sha256: `${id}${'0'.repeat(48)}`, bytes: 3 * 1024 * 1024, tarball: Buffer.from('tar') };

  it('when the release is absent, then it is uploaded on stdin and checked against its sha256 there', () => {
    const plan = planUpload(root, release, null);
    assert.match(
      plan.reason,
      /^upload release 0123456789abcdef \(3\.0 MiB\) into \/opt\/refereezy\/api\/releases\/0123456789abcdef$/,
    );
    const [command] = plan.commands;
    assert.ok(command);
    assert.deepEqual(command.argv.slice(-3), [`${root}/releases`, id, release.sha256]);
    assert.match(command.argv[2] ?? '', /sha256sum --check/);
    assert.equal(command.stdin, release.tarball);
  });

  it('when the release is there, then nothing is uploaded', () => {
    const plan = planUpload(root, release, {
      type: 'directory',
      owner: 'root',
      group: 'root',
      mode: 0o755,
      size: 4096,
    });
    assert.deepEqual(plan.commands, []);
    assert.equal(plan.reason, 'release 0123456789abcdef is on the host');
    assert.throws(
      () => planUpload(root, release, { type: 'regular file', owner: 'root', group: 'root', mode: 0o644, size: 1 }),
      /is a regular file, not a release directory/,
    );
  });

  it('when current points elsewhere (or nowhere), then it is switched with a rename; when it points at the release, then nothing', () => {
    assert.deepEqual(lines(planCurrent(root, id, 'releases/fedcba9876543210')), [
      `sh -c 'set -eu\ncd -- "$1"\nln -sfnT -- "$2" .current.new\nmv -T -- .current.new current' sh ${root} releases/${id}`,
    ]);
    assert.match(
      planCurrent(root, id, null).reason,
      /^switch \/opt\/refereezy\/api\/current to release 0123456789abcdef$/,
    );
    assert.deepEqual(planCurrent(root, id, `releases/${id}`).commands, []);
  });

  it('when more releases than kept are there, then the oldest go, never the current or the desired one, and partial uploads too', () => {
    const releases = [
      'aaaaaaaaaaaaaaaa',
      'bbbbbbbbbbbbbbbb',
      'cccccccccccccccc',
      'dddddddddddddddd',
      '.eeeeeeeeeeeeeeee.partial',
      'ffffffffffffffff',
    ];
    const plan = planPrune(root, 3, id, { releases, current: 'releases/ffffffffffffffff' });
    assert.deepEqual(lines(plan), [
      `rm -rf -- ${root}/releases/dddddddddddddddd ${root}/releases/.eeeeeeeeeeeeeeee.partial`,
    ]);
    assert.deepEqual(planPrune(root, 3, id, { releases: [id], current: `releases/${id}` }).commands, []);
  });

  it('when the host lists its releases, then current and the names (newest first) are parsed', () => {
    assert.deepEqual(
      releasesFact(root).parse({ code: 0, stdout: `releases/${id}\n${id}\naaaaaaaaaaaaaaaa\n`, stderr: '' }),
      { current: `releases/${id}`, releases: [id, 'aaaaaaaaaaaaaaaa'] },
    );
    assert.deepEqual(releasesFact(root).parse({ code: 0, stdout: '\n', stderr: '' }), { current: null, releases: [] });
  });

  it('when the sources do not change, then the release key does not either', () => {
    assert.match(inputKey(), /^[0-9a-f]{64}$/);
    assert.equal(inputKey(), inputKey());
  });
});
