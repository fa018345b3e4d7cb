// The monitoring role, Molecule-style, in the provisioning lab: mon1 [monitoring], web1 [web] and the
// mail relay mail1 [mail] behind the bastion. Converged twice (the second run changes nothing), then
// checked from what an operator sees on mon1: Prometheus' API (rules, targets), Alertmanager's (its
// routing tree), the rules file on disk against the repo's, a critical alert paging through the SMS
// notifier (the outbox provider: the lab has no SNS), and the daily report's timer and mail, queued on
// mail1 (whose relayhost does not exist: nothing leaves the lab). mon1 also runs the cloudwatch role
// against the local AWS API emulator (moto's CloudWatch), as the hosts send to CloudWatch in production.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import type { HostRecap } from '../../../provision/core/runner.js';
import { alertRulesSource } from '../../../provision/roles/monitoring/index.js';
import { cloudwatchMetrics, cloudwatchNamespace } from '../../../provision/roles/cloudwatch/index.js';
import { buildAwsEmulatorImage } from '../../support/aws-emulator.js';
import { startProvisionLab, type ProvisionRun, type StartedProvisionLab } from '../../support/provision-lab.js';

const alertEmail = 'admins@refereezy.test';
const reportFrom = 'reports@refereezy.test';
const onCall = '+34600000001';
// Only these roles run: web1 is here as a scrape target, not to test the web role; mail1 relays the mail.
const roles = ['--tags', 'common,cloudwatch,monitoring,mail'];
// mon1's metrics go to the emulator (no instance role, no metadata service in the lab: a key and an id).
const cloudwatchEndpoint = 'http://aws-emulator:5000';
const instanceId = 'i-lab-mon1';
const awsOnMon1 = [
  'env',
  'AWS_ACCESS_KEY_ID=testing',
  'AWS_SECRET_ACCESS_KEY=testing',
  'aws',
  '--region',
  'eu-west-1',
  '--endpoint-url',
  cloudwatchEndpoint,
  '--output',
  'json',
  'cloudwatch',
];
const scope = ['--limit', 'mon1,web1,mail1', ...roles];

let lab: StartedProvisionLab | undefined;

function started(): StartedProvisionLab {
  assert.ok(lab, 'the lab did not start');
  return lab;
}

function recapOf(result: ProvisionRun, host: string): HostRecap {
  const recap = result.recap.hosts.find((candidate) => candidate.host === host);
  assert.ok(recap, `no recap for ${host}:\n${result.stderr}`);
  return recap;
}

/** Tasks that did not end ok, each with its reason (and diff): what a failing assertion should show. */
const notOk = (result: ProvisionRun) =>
  result.recap.hosts.flatMap((recap) =>
    recap.tasks
      .filter((task) => task.status !== 'ok')
      .map((task) => `${task.host} ${task.task}: ${task.status}: ${task.reason}\n${task.diff ?? ''}`),
  );

/**
 * GET on mon1 itself, as an operator's tunnel lands there: bash's /dev/tcp and HTTP/1.0 (the EC2
 * image has no curl, and the role installs none). Returns the body; fails unless the status is 200.
 */
async function getOnMon1(port: number, path: string): Promise<unknown> {
  const script = `exec 3<>/dev/tcp/127.0.0.1/${port} && printf 'GET %s HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' "$1" >&3 && cat <&3`;
  const { exitCode, output } = await started().exec('mon1', ['bash', '-c', script, 'get', path]);
  assert.equal(exitCode, 0, output);
  const [head = '', ...body] = output.split('\r\n\r\n');
  assert.match(head, /^HTTP\/1\.[01] 200 /, `GET :${port}${path}: ${head}`);
  return JSON.parse(body.join('\r\n\r\n'));
}

/** POST of a JSON body on mon1 itself (ASCII only: the length is counted in characters). Returns the status line. */
async function postOnMon1(port: number, path: string, body: unknown): Promise<string> {
  const script = `exec 3<>/dev/tcp/127.0.0.1/${port} && printf 'POST %s HTTP/1.0\\r\\nHost: localhost\\r\\nContent-Type: application/json\\r\\nContent-Length: %s\\r\\n\\r\\n%s' "$1" "\${#2}" "$2" >&3 && cat <&3`;
  const { exitCode, output } = await started().exec('mon1', ['bash', '-c', script, 'post', path, JSON.stringify(body)]);
  assert.equal(exitCode, 0, output);
  return output.split('\r\n')[0] ?? '';
}

/** A command that must succeed on a lab machine; its output. */
async function ok(host: string, argv: string[]): Promise<string> {
  const { exitCode, output } = await started().exec(host, argv);
  assert.equal(exitCode, 0, `${host}: ${argv.join(' ')}: ${output}`);
  return output;
}

/** Polls (bounded) until `probe` returns something. */
async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `${what}: not within ${timeoutMs / 1000} s`);
    await sleep(1_000);
  }
}

interface ActiveTarget {
  labels: { job: string; instance: string };
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
}

const activeTargets = async () =>
  ((await getOnMon1(9090, '/api/v1/targets')) as { data: { activeTargets: ActiveTarget[] } }).data.activeTargets;

/** Waits (bounded) until a target has been scraped: `unknown` only means not yet. */
async function targetHealth(job: string, instance: string, timeoutMs = 60_000): Promise<ActiveTarget> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const target = (await activeTargets()).find(
      (candidate) => candidate.labels.job === job && candidate.labels.instance === instance,
    );
    assert.ok(target, `no ${job} target ${instance}`);
    if (target.health !== 'unknown' || Date.now() > deadline) return target;
    await sleep(1_000);
  }
}

/** Rewrites the lab's inventory with `vars` merged into mon1's. */
function setMon1Vars(vars: Record<string, unknown>): void {
  const file = started().inventoryFile;
  const inventory = parse(readFileSync(file, 'utf8')) as { hosts: Record<string, { vars?: Record<string, unknown> }> };
  const mon1 = inventory.hosts.mon1;
  assert.ok(mon1);
  mon1.vars = { ...mon1.vars, ...vars };
  writeFileSync(file, stringify(inventory, { lineWidth: 0 }));
}

before(async () => {
  lab = await startProvisionLab({
    hosts: {
      mon1: {
        groups: ['monitoring'],
        vars: {
          cloudwatch_region: 'eu-west-1',
          cloudwatch_endpoint_url: cloudwatchEndpoint,
          cloudwatch_instance_id: instanceId,
          cloudwatch_access_key_id: 'testing',
          cloudwatch_secret_access_key: 'testing',
        },
      },
      web1: { groups: ['web'] },
      mail1: { groups: ['mail'] },
    },
    services: { 'aws-emulator': { image: await buildAwsEmulatorImage() } },
    groups: {
      // No alert_smtp_smarthost: alert mail and the report go to the inventory's mail host.
      monitoring: {
        alert_email_to: alertEmail,
        alert_smtp_from: 'alertmanager@refereezy.test',
        sms_provider: 'outbox',
        daily_report_from: reportFrom,
        daily_report_at: '05:30',
      },
      mail: { mail_relayhost: '[relay.invalid]:587' },
    },
    // The on-call numbers come from the vault, as in production.
    secrets: { sms_recipients: [onCall] },
  });
});

after(async () => {
  await lab?.stop();
});

describe('provisioning the monitoring role', () => {
  it('when converged from scratch, then mon1 gets Prometheus, Alertmanager, the blackbox exporter and the SMS notifier, and every host converges', async (t) => {
    const result = await started().provision(scope);
    t.diagnostic(`converged in ${result.recap.seconds.toFixed(1)} s`);
    assert.equal(result.code, 0, `${notOk(result).join('\n')}\n${result.stderr}`);
    const mon1 = recapOf(result, 'mon1');
    assert.equal(mon1.status, 'changed');
    const handlers = mon1.tasks.filter((task) => task.role === 'monitoring' && task.task.startsWith('handler: '));
    assert.deepEqual(handlers.map((task) => `${task.task} ${task.status}`).sort(), [
      'handler: reload alertmanager changed',
      'handler: reload blackbox exporter changed',
      'handler: reload prometheus changed',
      'handler: restart alertmanager changed',
      'handler: restart blackbox exporter changed',
      'handler: restart sms-notifier changed',
    ]);
    for (const unit of ['prometheus', 'prometheus-alertmanager', 'prometheus-blackbox-exporter', 'sms-notifier']) {
      assert.equal(
        (await started().exec('mon1', ['systemctl', 'is-active', `${unit}.service`])).output.trim(),
        'active',
        unit,
      );
      assert.equal(
        (await started().exec('mon1', ['systemctl', 'is-enabled', `${unit}.service`])).output.trim(),
        'enabled',
        unit,
      );
    }
  });

  it('when converged again, then nothing changes (any change is printed with its diff)', async (t) => {
    const result = await started().provision(scope);
    t.diagnostic(`converged in ${result.recap.seconds.toFixed(1)} s`);
    assert.deepEqual(notOk(result), []);
    assert.equal(result.code, 0);
    for (const host of ['mon1', 'web1', 'mail1']) assert.equal(recapOf(result, host).changed, 0);
  });

  it("when converged, then the rules file on mon1 is the repo's monitoring/prometheus/alerts.yml, byte for byte", async () => {
    const { output } = await started().exec('mon1', ['sha256sum', '/etc/prometheus/rules/alerts.yml']);
    assert.equal(output.split(' ')[0], createHash('sha256').update(readFileSync(alertRulesSource)).digest('hex'));
  });

  it("when Prometheus is asked for its rules, then it has loaded every group of the repo's rule file", async () => {
    const repoGroups = (parse(readFileSync(alertRulesSource, 'utf8')) as { groups: { name: string }[] }).groups.map(
      (group) => group.name,
    );
    const loaded = ((await getOnMon1(9090, '/api/v1/rules')) as { data: { groups: { name: string; file: string }[] } })
      .data.groups;
    assert.deepEqual(loaded.map((group) => group.name).sort(), repoGroups.sort());
    assert.ok(loaded.every((group) => group.file === '/etc/prometheus/rules/alerts.yml'));
  });

  it('when Prometheus is asked for its targets, then every exporter of the inventory is there, and its own services are up', async () => {
    const address = (host: string) => started().address(host);
    const targets = await activeTargets();
    const seen = new Set(targets.map((target) => `${target.labels.job} ${target.labels.instance} ${target.scrapeUrl}`));
    for (const expected of [
      `node mon1:9100 http://${address('mon1')}:9100/metrics`,
      `node web1:9100 http://${address('web1')}:9100/metrics`,
      `node bastion:9100 http://${address('bastion')}:9100/metrics`,
      `web web1:9113 http://${address('web1')}:9113/metrics`,
      'prometheus mon1:9090 http://127.0.0.1:9090/metrics',
      'alertmanager mon1:9093 http://127.0.0.1:9093/metrics',
      'blackbox-exporter mon1:9115 http://127.0.0.1:9115/metrics',
      'sms-notifier mon1:9095 http://127.0.0.1:9095/metrics',
      `blackbox-ssh ${address('bastion')}:22 http://127.0.0.1:9115/probe?module=ssh_banner&target=${encodeURIComponent(`${address('bastion')}:22`)}`,
    ]) {
      assert.ok(seen.has(expected), `missing target: ${expected}\n${[...seen].join('\n')}`);
    }
    for (const [job, instance] of [
      ['prometheus', 'mon1:9090'],
      ['alertmanager', 'mon1:9093'],
      ['blackbox-exporter', 'mon1:9115'],
      ['sms-notifier', 'mon1:9095'],
      ['blackbox-ssh', `${address('bastion')}:22`],
    ] as const) {
      assert.equal((await targetHealth(job, instance)).health, 'up', `${job} ${instance}`);
    }
    const alertmanagers = (
      (await getOnMon1(9090, '/api/v1/alertmanagers')) as { data: { activeAlertmanagers: { url: string }[] } }
    ).data.activeAlertmanagers;
    assert.deepEqual(
      alertmanagers.map((am) => am.url),
      ['http://127.0.0.1:9093/api/v2/alerts'],
    );
  });

  it("when web1 runs node_exporter, then Prometheus scrapes it from mon1 (web1's node target is up)", async (t) => {
    const exporter = await started().exec('web1', ['systemctl', 'is-active', 'prometheus-node-exporter.service']);
    if (exporter.output.trim() !== 'active') {
      t.skip('web1 runs no node_exporter: the common role does not install it (yet)');
      return;
    }
    assert.equal((await targetHealth('node', 'web1:9100')).health, 'up');
  });

  it("when Alertmanager is asked for its status, then it runs the template's routing with the inventory's settings", async () => {
    const status = (await getOnMon1(9093, '/api/v2/status')) as { config: { original: string } };
    const config = parse(status.config.original) as {
      global: { smtp_smarthost: string; smtp_require_tls: boolean };
      route: { receiver: string; group_interval: string; routes: { receiver: string }[] };
      receivers: { name: string; email_configs?: { to: string }[]; webhook_configs?: { url: string }[] }[];
    };
    assert.deepEqual(
      config.receivers.map((receiver) => receiver.name),
      ['critical-sms-and-email', 'warning-email', 'deadmans-switch'],
    );
    assert.equal(config.route.receiver, 'warning-email');
    assert.deepEqual(
      config.route.routes.map((route) => route.receiver),
      ['deadmans-switch', 'critical-sms-and-email', 'warning-email'],
    );
    assert.equal(config.route.group_interval, '5m');
    assert.equal(config.global.smtp_smarthost, `${started().address('mail1')}:25`);
    const critical = config.receivers.find((receiver) => receiver.name === 'critical-sms-and-email');
    assert.deepEqual(
      critical?.email_configs?.map((mail) => mail.to),
      [alertEmail],
    );
    // The API masks webhook URLs (they may carry credentials): the rendered file shows it.
    assert.deepEqual(
      critical.webhook_configs?.map((hook) => hook.url),
      ['<secret>'],
    );
    const { output } = await started().exec('mon1', ['cat', '/etc/prometheus/alertmanager.yml']);
    assert.match(output, /^\s+- url: 'http:\/\/127\.0\.0\.1:9095\/alert'$/m);
  });

  it('when reached on its private address, then the blackbox exporter refuses: it listens on loopback only', async () => {
    const probe = await started().exec('mon1', ['bash', '-c', `exec 3<>/dev/tcp/${started().address('mon1')}/9115`]);
    assert.notEqual(probe.exitCode, 0, 'port 9115 answered on the private address');
    assert.match(probe.output, /Connection refused/);
  });

  it("when the UIs are reached from the network, then the bastion gets through (operators' tunnels) and web1 does not", async () => {
    const connect = (from: string, port: number) =>
      started().exec(from, ['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${started().address('mon1')}/${port}`]);
    for (const port of [9090, 9093]) {
      assert.equal((await connect('bastion', port)).exitCode, 0, `bastion → mon1:${port}`);
      // Never answered: web1's own egress refuses it (no route to host), and mon1 would drop it (no reset).
      const attempt = await connect('web1', port);
      assert.notEqual(attempt.exitCode, 0, `web1 → mon1:${port}`);
      assert.doesNotMatch(attempt.output, /Connection refused/, `web1 → mon1:${port}`);
    }
  });

  it('when another host tries the SMS notifier, then the firewall drops it: only Alertmanager on mon1 calls it', async () => {
    for (const from of ['web1', 'bastion']) {
      const probe = await started().exec(from, [
        'timeout',
        '3',
        'bash',
        '-c',
        `exec 3<>/dev/tcp/${started().address('mon1')}/9095`,
      ]);
      // Dropped (a time-out) by mon1, or refused by the sender's own egress rules (no route to host): never answered.
      assert.notEqual(probe.exitCode, 0, `${from} → mon1:9095: ${probe.output}`);
      assert.doesNotMatch(probe.output, /Connection refused/, `${from} → mon1:9095`);
    }
  });

  it('when converged, then the SMS notifier runs sandboxed as notifier, its environment readable by root only', async () => {
    assert.equal((await ok('mon1', ['systemctl', 'is-active', 'sms-notifier.service'])).trim(), 'active');
    assert.equal(
      (await ok('mon1', ['stat', '-c', '%U:%G %a', '/etc/refereezy/sms-notifier.env'])).trim(),
      'root:root 600',
    );
    const pid = (
      await ok('mon1', ['systemctl', 'show', '--property=MainPID', '--value', 'sms-notifier.service'])
    ).trim();
    assert.equal((await ok('mon1', ['stat', '-c', '%U', `/proc/${pid}`])).trim(), 'notifier');
    const status = await ok('mon1', ['cat', `/proc/${pid}/status`]);
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.match(status, /^CapEff:\s+0+$/m);
    assert.deepEqual(await getOnMon1(9095, '/healthz'), { status: 'ok', provider: 'outbox' });
  });

  it("when a critical alert reaches mon1's Alertmanager, then its critical route pages the on-call number through the notifier", async (t) => {
    const alertname = `LabPage${Date.now()}`;
    const fired = Date.now();
    const status = await postOnMon1(9093, '/api/v2/alerts', [
      {
        labels: { alertname, severity: 'critical', instance: 'mon1:9095' },
        annotations: { summary: 'the provisioning lab pages its on-call' },
      },
    ]);
    assert.match(status, /^HTTP\/1\.[01] 200 /);
    // The critical route's group_wait is 10 s.
    const message = await eventually('the SMS in the outbox', 60_000, async () => {
      const { messages } = (await getOnMon1(9095, '/outbox')) as { messages: { to: string; text: string }[] };
      return messages.find((candidate) => candidate.text.includes(alertname));
    });
    t.diagnostic(`paged in ${((Date.now() - fired) / 1000).toFixed(1)} s: ${message.text}`);
    assert.equal(message.to, onCall);
    assert.equal(message.text, `[FIRING critical] ${alertname} on mon1:9095: the provisioning lab pages its on-call`);
  });

  it('when converged, then the daily report is a timer, active, next due at the configured time (UTC)', async () => {
    const show = await ok('mon1', [
      'systemctl',
      'show',
      '--property=ActiveState,UnitFileState,NextElapseUSecRealtime,TimersCalendar',
      'refereezy-daily-report.timer',
    ]);
    assert.match(show, /^ActiveState=active$/m);
    assert.match(show, /^UnitFileState=enabled$/m);
    assert.match(show, /OnCalendar=\*-\*-\* 05:30:00 UTC/);
    const next = /^NextElapseUSecRealtime=(.+)$/m.exec(show)?.[1] ?? '';
    assert.notEqual(next, '', show);
    // systemctl prints it in the host's zone (the containers run in UTC).
    assert.match(next, / 05:30:00 /, show);
  });

  it("when the daily report's service is started, then it runs to success and its mail is queued on mail1 for the admins", async (t) => {
    const begun = Date.now();
    const run = await started().exec('mon1', ['systemctl', 'start', 'refereezy-daily-report.service']);
    const journal = (
      await started().exec('mon1', [
        'journalctl',
        '--no-pager',
        '--unit',
        'refereezy-daily-report.service',
        '--lines',
        '20',
      ])
    ).output;
    assert.equal(run.exitCode, 0, `${run.output}\n${journal}`);
    t.diagnostic(`report sent in ${((Date.now() - begun) / 1000).toFixed(1)} s`);
    assert.equal(
      (
        await ok('mon1', ['systemctl', 'show', '--property=Result', '--value', 'refereezy-daily-report.service'])
      ).trim(),
      'success',
    );
    assert.match(journal, /"event":"daily-report"/);
    // Deferred for the relayhost, which does not exist: the queue shows the report's sender and recipient.
    const queued = await eventually("the report in mail1's queue", 30_000, async () => {
      const queue = await ok('mail1', ['postqueue', '-j']);
      return queue
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { sender: string; recipients: { address: string }[] })
        .find((entry) => entry.sender === reportFrom);
    });
    assert.deepEqual(
      queued.recipients.map((recipient) => recipient.address),
      [alertEmail],
    );
  });

  it('when mon1 runs the cloudwatch role, then its timer is active and its disk and memory use arrive in CloudWatch with the Terraform alarm’s dimensions', async (t) => {
    assert.equal((await ok('mon1', ['systemctl', 'is-active', 'cloudwatch-metrics.timer'])).trim(), 'active');
    // What the timer runs, now (a oneshot: start returns when it has sent).
    const sent = await started().exec('mon1', ['systemctl', 'start', 'cloudwatch-metrics.service']);
    assert.equal(
      sent.exitCode,
      0,
      `${sent.output}\n${(await started().exec('mon1', ['journalctl', '-u', 'cloudwatch-metrics.service', '--no-pager', '-n', '30'])).output}`,
    );
    const listed = JSON.parse(await ok('mon1', [...awsOnMon1, 'list-metrics', '--namespace', cloudwatchNamespace])) as {
      Metrics: { MetricName: string; Dimensions: { Name: string; Value: string }[] }[];
    };
    const disk = listed.Metrics.find((metric) => metric.MetricName === cloudwatchMetrics.disk.name);
    assert.deepEqual(
      disk?.Dimensions.map((dimension) => `${dimension.Name}=${dimension.Value}`).sort(),
      [`InstanceId=${instanceId}`, 'path=/'],
      JSON.stringify(listed),
    );
    assert.ok(
      listed.Metrics.some((metric) => metric.MetricName === cloudwatchMetrics.memory.name),
      JSON.stringify(listed),
    );
    // The alarm's own query (terraform/modules/alerting "disk": Maximum over 300 s, these dimensions) finds the value df shows.
    const now = Date.now();
    const statistics = JSON.parse(
      await ok('mon1', [
        ...awsOnMon1,
        'get-metric-statistics',
        '--namespace',
        cloudwatchNamespace,
        '--metric-name',
        cloudwatchMetrics.disk.name,
        '--dimensions',
        `Name=InstanceId,Value=${instanceId}`,
        'Name=path,Value=/',
        '--statistics',
        'Maximum',
        '--period',
        '300',
        '--start-time',
        new Date(now - 15 * 60_000).toISOString(),
        '--end-time',
        new Date(now + 5 * 60_000).toISOString(),
      ]),
    ) as { Datapoints: { Maximum: number }[] };
    const [point] = statistics.Datapoints;
    assert.ok(point, `no datapoint: ${JSON.stringify(statistics)}`);
    const dfPercent = Number((await ok('mon1', ['df', '--output=pcent', '/'])).split('\n')[1]?.replace('%', '').trim());
    t.diagnostic(`disk_used_percent ${point.Maximum} (df: ${dfPercent}%)`);
    assert.ok(Math.abs(point.Maximum - dfPercent) <= 2, `CloudWatch has ${point.Maximum}, df says ${dfPercent}%`);
  });

  it('when a var makes prometheus.yml invalid, then the handler refuses to reload it and the running config stays', async () => {
    // Valid for the role's schema, refused by promtool: a scrape timeout above the scrape interval.
    setMon1Vars({ prometheus_scrape_timeout: '20s' });
    const refused = await started().provision(['--limit', 'mon1', ...roles]);
    assert.equal(refused.code, 2);
    const handler = recapOf(refused, 'mon1').tasks.find((task) => task.task === 'handler: reload prometheus');
    assert.equal(
      handler?.status,
      'failed',
      JSON.stringify(recapOf(refused, 'mon1').tasks.filter((task) => task.status !== 'ok')),
    );
    assert.match(handler.reason, /scrape timeout greater than scrape interval/);
    const running = ((await getOnMon1(9090, '/api/v1/status/config')) as { data: { yaml: string } }).data.yaml;
    assert.match(running, /scrape_timeout: 10s/);

    setMon1Vars({ prometheus_scrape_timeout: '10s' });
    const restored = await started().provision(['--limit', 'mon1', ...roles]);
    assert.equal(restored.code, 0, notOk(restored).join('\n'));
    assert.equal(
      (await started().exec('mon1', ['systemctl', 'is-active', 'prometheus.service'])).output.trim(),
      'active',
    );
  });
});
