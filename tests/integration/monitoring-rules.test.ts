// The alerting core (monitoring/): the alert rules and Alertmanager's routing, checked by the real
// tools inside the images that ship them (compose/prometheus, compose/alertmanager): promtool's
// config check and unit tests of every alert, amtool's config check and routing cases, and an
// Alertmanager that groups posted alerts to the right receiver. Both containers run with no network
// but loopback: nothing they try to reach (scrape targets, mail server, SMS notifier) leaves them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual, promisify } from 'node:util';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { parse } from 'yaml';
import { imageTag, repoRoot } from '../support/paths.js';
import { useRyukOnlyWhereAvailable } from '../support/ryuk.js';

const run = promisify(execFile);
const rulesFile = join(repoRoot, 'monitoring/prometheus/alerts.yml');
const promtoolTests = join(repoRoot, 'monitoring/prometheus/tests');
const alertmanagerConfig = '/etc/alertmanager/alertmanager.yml';

interface RouteCase {
  name: string;
  labels: Record<string, string>;
  receivers: string[];
}
const routeCases = (
  JSON.parse(readFileSync(join(repoRoot, 'monitoring/alertmanager/tests/routes.json'), 'utf8')) as {
    cases: RouteCase[];
  }
).cases;

/** The alert names a rule file defines (one `- alert:` line per rule). */
const alertNamesIn = (text: string) =>
  new Set([...text.matchAll(/^\s*- alert:\s*(\S+)/gm)].map((match) => match[1] ?? ''));

/**
 * Builds an image whose build context is the repo root (it copies monitoring/), as docker compose
 * builds it: same Dockerfile, same base image argument. Returns its tag.
 */
async function buildRootContextImage(service: 'prometheus' | 'alertmanager'): Promise<string> {
  const tag = `refereezy/${service}:${imageTag}`;
  await run(
    'docker',
    [
      'build',
      '--quiet',
      '--file',
      `compose/${service}/Dockerfile`,
      '--build-arg',
      `BASE_IMAGE=${process.env.BASE_IMAGE ?? 'debian:trixie-slim'}`,
      '--tag',
      tag,
      '.',
    ],
    { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 },
  );
  return tag;
}

/** Runs a command in the container; fails with its output unless it exits 0. */
async function execOk(container: StartedTestContainer, command: string[]): Promise<string> {
  const { exitCode, output } = await container.exec(command);
  assert.equal(exitCode, 0, `${command.join(' ')} exited ${exitCode}:\n${output}`);
  return output;
}

/** Posts alerts to Alertmanager's API, from inside its container (it has no network but loopback). */
async function postAlerts(container: StartedTestContainer, alerts: Record<string, string>[]): Promise<void> {
  const startsAt = new Date().toISOString();
  const body = alerts.map((labels) => ({
    labels,
    annotations: { summary: `test ${labels.alertname ?? ''}`, description: 'posted by monitoring-rules.test.ts' },
    startsAt,
  }));
  await execOk(container, [
    'curl',
    '-fsS',
    '-H',
    'content-type: application/json',
    '--data',
    JSON.stringify(body),
    'http://127.0.0.1:9093/api/v2/alerts',
  ]);
}

async function printLogs(name: string, container: StartedTestContainer | undefined): Promise<void> {
  if (!container) return;
  const chunks: string[] = [];
  for await (const chunk of await container.logs({ tail: 60 })) chunks.push(String(chunk));
  console.error(`── ${name} ──\n${chunks.join('')}`);
}

let prometheus: StartedTestContainer | undefined;
let alertmanager: StartedTestContainer | undefined;
let failed = false;

before(async () => {
  await useRyukOnlyWhereAvailable();
  const [prometheusImage, alertmanagerImage] = await Promise.all([
    buildRootContextImage('prometheus'),
    buildRootContextImage('alertmanager'),
  ]);
  // The unit tests sit next to the rules in the repo (tests/ → ../alerts.yml); copied next to the
  // image's own copy of the rules, they test the file the image ships.
  [prometheus, alertmanager] = await Promise.all([
    new GenericContainer(prometheusImage)
      .withNetworkMode('none')
      .withCopyDirectoriesToContainer([{ source: promtoolTests, target: '/etc/prometheus/rules/tests' }])
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(60_000)
      .start(),
    new GenericContainer(alertmanagerImage)
      .withNetworkMode('none')
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(60_000)
      .start(),
  ]);
});

after(async () => {
  try {
    if (failed) {
      await printLogs('prometheus', prometheus);
      await printLogs('alertmanager', alertmanager);
    }
  } finally {
    await Promise.all([prometheus?.stop({ timeout: 5_000 }), alertmanager?.stop({ timeout: 5_000 })]);
  }
});

/** `it`, remembering a failure so that the containers' logs are printed at the end. */
function check(name: string, body: () => Promise<void>): void {
  it(name, async () => {
    try {
      await body();
    } catch (error) {
      failed = true;
      throw error;
    }
  });
}

describe('Prometheus: the alert rules (monitoring/prometheus)', () => {
  check('when promtool checks the image’s config, then the scrape config and its rule files are valid', async () => {
    assert.ok(prometheus);
    const output = await execOk(prometheus, ['promtool', 'check', 'config', '/etc/prometheus/prometheus.yml']);
    assert.match(output, /SUCCESS: 1 rule files found/);
  });

  check('when promtool checks the rules, then every rule is valid', async () => {
    assert.ok(prometheus);
    const output = await execOk(prometheus, ['promtool', 'check', 'rules', '/etc/prometheus/rules/alerts.yml']);
    assert.match(output, /SUCCESS: \d+ rules found/);
  });

  check(
    'when PROMETHEUS_HA_TARGETS names the HA clusters, then the entrypoint renders the patroni and etcd targets labelled per cluster; a malformed entry is refused; unset, there are none',
    async () => {
      assert.ok(prometheus);
      const targets = '/etc/prometheus/targets';
      const render = (value: string) =>
        execOk(prometheus as StartedTestContainer, [
          'env',
          `PROMETHEUS_HA_TARGETS=${value}`,
          'prometheus-entrypoint',
          'sh',
          '-c',
          `cat ${targets}/patroni.yml; echo ---; cat ${targets}/etcd.yml`,
        ]).then((output) => output.split('---\n').map((file) => parse(file) as unknown));
      const clusters =
        'patroni/refereezy=db1:8008,db2:8008 etcd/refereezy=etcd1:2381,etcd2:2381,etcd3:2381 ' +
        'patroni/refereezy-dr=db-dr1:8008 etcd/refereezy-dr=etcd-dr1:2381';
      assert.deepEqual(await render(clusters), [
        [
          { targets: ['db1:8008', 'db2:8008'], labels: { cluster: 'refereezy' } },
          { targets: ['db-dr1:8008'], labels: { cluster: 'refereezy-dr' } },
        ],
        [
          { targets: ['etcd1:2381', 'etcd2:2381', 'etcd3:2381'], labels: { cluster: 'refereezy' } },
          { targets: ['etcd-dr1:2381'], labels: { cluster: 'refereezy-dr' } },
        ],
      ]);
      const refused = await prometheus.exec([
        'env',
        'PROMETHEUS_HA_TARGETS=patroni/refereezy=db1',
        'prometheus-entrypoint',
        'true',
      ]);
      assert.notEqual(refused.exitCode, 0);
      assert.match(refused.output, /"patroni\/refereezy=db1" is not <patroni\|etcd>\/<cluster>=<host:port>/);
      // Unset (the stack without HA): no targets, as the image was started.
      assert.deepEqual(await render(''), [[], []]);
    },
  );

  check(
    'when promtool runs the unit tests, then each alert fires when it should, with its labels and annotations, and not otherwise',
    async () => {
      assert.ok(prometheus);
      const files = readdirSync(promtoolTests).filter((file) => file.endsWith('.yml'));
      assert.ok(files.length > 0, 'no promtool tests');
      const output = await execOk(prometheus, [
        'promtool',
        'test',
        'rules',
        ...files.map((file) => `/etc/prometheus/rules/tests/${file}`),
      ]);
      assert.equal(output.match(/SUCCESS/g)?.length, files.length, output);
    },
  );

  check('when the unit tests are read, then every alert of the rule file has one', () => {
    const tested = new Set(
      readdirSync(promtoolTests)
        .filter((file) => file.endsWith('.yml'))
        .flatMap((file) =>
          [...readFileSync(join(promtoolTests, file), 'utf8').matchAll(/alertname:\s*(\w+)/g)].map((match) => match[1]),
        ),
    );
    const untested = [...alertNamesIn(readFileSync(rulesFile, 'utf8'))].filter((alert) => !tested.has(alert));
    assert.deepEqual(untested, []);
    return Promise.resolve();
  });

  check('when the container is ready, then Prometheus has loaded every alert of the rule file', async () => {
    assert.ok(prometheus);
    const answer = await execOk(prometheus, ['curl', '-fsS', 'http://127.0.0.1:9090/api/v1/rules?type=alert']);
    const { data } = JSON.parse(answer) as { data: { groups: { rules: { name: string }[] }[] } };
    const loaded = new Set(data.groups.flatMap((group) => group.rules.map((rule) => rule.name)));
    assert.deepEqual([...loaded].sort(), [...alertNamesIn(readFileSync(rulesFile, 'utf8'))].sort());
  });
});

describe('Alertmanager: the routing (monitoring/alertmanager)', () => {
  check(
    'when amtool checks the rendered config, then it is valid and carries the replica’s mail settings',
    async () => {
      assert.ok(alertmanager);
      const output = await execOk(alertmanager, ['amtool', 'check-config', alertmanagerConfig]);
      assert.match(output, /SUCCESS/);
      assert.match(output, /3 receivers/);
      const rendered = await execOk(alertmanager, ['cat', alertmanagerConfig]);
      assert.match(rendered, /^\s*smtp_smarthost: 'mail:25'$/m);
      assert.match(rendered, /^\s*smtp_require_tls: false$/m);
      assert.match(rendered, /url: 'http:\/\/sms-notifier:9095\/alert'/);
      assert.doesNotMatch(rendered, /\$\{ALERT_/, 'a variable was left unrendered');
    },
  );

  for (const routeCase of routeCases) {
    check(
      `when amtool routes ${JSON.stringify(routeCase.labels)}, then ${routeCase.name} (${routeCase.receivers.join(', ')})`,
      async () => {
        assert.ok(alertmanager);
        const labels = Object.entries(routeCase.labels).map(([name, value]) => `${name}=${value}`);
        const output = await execOk(alertmanager, [
          'amtool',
          'config',
          'routes',
          'test',
          `--config.file=${alertmanagerConfig}`,
          `--verify.receivers=${routeCase.receivers.join(',')}`,
          ...labels,
        ]);
        const resolved = output
          .split('\n')
          .filter((line) => line !== '' && !line.startsWith('Warning:'))
          .at(-1);
        assert.equal(resolved, routeCase.receivers.join(','));
      },
    );
  }

  check('when a setting of the template is missing, then the entrypoint refuses to render it', async () => {
    assert.ok(alertmanager);
    const { exitCode, output } = await alertmanager.exec(['env', 'ALERT_EMAIL_TO=', 'alertmanager-entrypoint', 'true']);
    assert.notEqual(exitCode, 0);
    assert.match(output, /ALERT_EMAIL_TO must be set/);
  });

  check(
    'when alerts are posted to its API, then each is grouped to its receiver, and a critical one is sent by both email and SMS',
    async () => {
      assert.ok(alertmanager);
      await postAlerts(alertmanager, [
        { alertname: 'PostgresDown', severity: 'critical', service: 'postgres', instance: 'postgres-exporter:9187' },
        { alertname: 'NodeMemoryLow', severity: 'warning', service: 'node', instance: 'node-exporter:9100' },
        { alertname: 'Watchdog', severity: 'none' },
      ]);

      interface AlertGroup {
        receiver: { name: string };
        alerts: { labels: Record<string, string>; status: { state: string } }[];
      }
      const groups = JSON.parse(
        await execOk(alertmanager, ['curl', '-fsS', 'http://127.0.0.1:9093/api/v2/alerts/groups']),
      ) as AlertGroup[];
      const receiverOf = Object.fromEntries(
        groups.flatMap((group) =>
          group.alerts.map((a): [string, string] => [
            `${a.labels.alertname ?? ''} (${a.status.state})`,
            group.receiver.name,
          ]),
        ),
      );
      assert.deepEqual(receiverOf, {
        'PostgresDown (active)': 'critical-sms-and-email',
        'NodeMemoryLow (active)': 'warning-email',
        'Watchdog (active)': 'deadmans-switch',
      });

      const query = await execOk(alertmanager, ['amtool', 'alert', 'query', '--output=simple', 'severity=critical']);
      assert.match(query, /^PostgresDown\b/m);
      assert.doesNotMatch(query, /NodeMemoryLow|Watchdog/);

      // With no network every delivery fails, and Alertmanager logs each attempt with its receiver and
      // integration: after the critical route's group_wait (10 s) it tries both the mail server and
      // the SMS notifier.
      const attempted = async () => {
        const { stdout, stderr } = await run('docker', ['logs', (alertmanager as StartedTestContainer).getId()]);
        const logs = stdout + stderr;
        return ['email', 'webhook'].filter((integration) =>
          logs.includes(`receiver=critical-sms-and-email integration=${integration}[0]`),
        );
      };
      let seen = await attempted();
      for (let attempt = 0; attempt < 60 && seen.length < 2; attempt += 1) {
        await sleep(1_000);
        seen = await attempted();
      }
      assert.deepEqual(seen, ['email', 'webhook']);
    },
  );

  check(
    'when a target, PostgreSQL or a critical threshold is down, then the alerts it explains are inhibited',
    async () => {
      assert.ok(alertmanager);
      await postAlerts(alertmanager, [
        { alertname: 'TargetDown', severity: 'critical', service: 'node', instance: 'web-1:9100' },
        { alertname: 'NodeMemoryLow', severity: 'warning', service: 'node', instance: 'web-1:9100' },
        { alertname: 'NodeMemoryLow', severity: 'warning', service: 'node', instance: 'web-2:9100' },
        { alertname: 'PostgresDown', severity: 'critical', service: 'postgres', instance: 'db-1:9187' },
        { alertname: 'PostgresTooManyConnections', severity: 'warning', service: 'postgres', instance: 'db-1:9187' },
        {
          alertname: 'NodeDiskSpaceLow',
          severity: 'critical',
          service: 'node',
          instance: 'db-1:9100',
          mountpoint: '/',
        },
        { alertname: 'NodeDiskSpaceLow', severity: 'warning', service: 'node', instance: 'db-1:9100', mountpoint: '/' },
        {
          alertname: 'NodeDiskSpaceLow',
          severity: 'warning',
          service: 'node',
          instance: 'db-1:9100',
          mountpoint: '/var/log',
        },
      ]);
      interface ApiAlert {
        labels: Record<string, string>;
        status: { state: string };
      }
      const ours = new Set(['web-1:9100', 'web-2:9100', 'db-1:9187', 'db-1:9100']);
      const states = async () => {
        const alerts = JSON.parse(
          await execOk(alertmanager as StartedTestContainer, ['curl', '-fsS', 'http://127.0.0.1:9093/api/v2/alerts']),
        ) as ApiAlert[];
        return Object.fromEntries(
          alerts
            .filter((a) => ours.has(a.labels.instance ?? ''))
            .map((a): [string, string] => [
              `${a.labels.alertname ?? ''} ${a.labels.severity ?? ''} ${a.labels.instance ?? ''}${a.labels.mountpoint ? ` ${a.labels.mountpoint}` : ''}`,
              a.status.state,
            ]),
        );
      };
      const expected = {
        'TargetDown critical web-1:9100': 'active',
        'NodeMemoryLow warning web-1:9100': 'suppressed',
        'NodeMemoryLow warning web-2:9100': 'active',
        'PostgresDown critical db-1:9187': 'active',
        'PostgresTooManyConnections warning db-1:9187': 'suppressed',
        'NodeDiskSpaceLow critical db-1:9100 /': 'active',
        'NodeDiskSpaceLow warning db-1:9100 /': 'suppressed',
        'NodeDiskSpaceLow warning db-1:9100 /var/log': 'active',
      };
      let seen = await states();
      for (let attempt = 0; attempt < 40 && !isDeepStrictEqual(seen, expected); attempt += 1) {
        await sleep(1_000);
        seen = await states();
      }
      assert.deepEqual(seen, expected);
    },
  );
});
