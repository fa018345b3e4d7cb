import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { TimerFact } from '../../../provision/facts/timer.js';
import type { Host } from '../../../provision/inventories/schema.js';
import {
  alertRulesSource,
  monitoring,
  notifierEnvironments,
  paths,
  prometheusTemplate,
  templateValues,
} from '../../../provision/roles/monitoring/index.js';
import {
  dailyAt,
  dailyReportDropInSource,
  smsNotifierUnitSource,
} from '../../../provision/roles/monitoring/notifier.js';
import {
  exporterPorts,
  haJobs,
  jobs,
  scrapedPort,
  scrapeTargets,
  targetFile,
  type TargetGroup,
} from '../../../provision/roles/monitoring/targets.js';
import type { Task } from '../../../provision/roles/role.js';
import { roleInputs } from '../../support/role-inputs.js';

// A stand-in for the notifier's release (the role would otherwise build one from monitoring/notifier).
const scratch = mkdtempSync(path.join(tmpdir(), 'roles-monitoring-'));
const releaseFile = path.join(scratch, 'notifier.tar.gz');
writeFileSync(releaseFile, 'not a real release');
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});
const alertVars = {
  alert_email_to: 'admins@refereezy.example',
  alert_smtp_from: 'alertmanager@refereezy.example',
  sms_recipients: ['+34600000001', '+34600000002'],
  sms_aws_region: 'eu-west-1',
  notifier_release_file: releaseFile,
};
const host = (name: string, address: string, groups: string[], vars: Record<string, unknown> = {}): Host => ({
  name,
  address,
  port: 22,
  groups,
  vars: { ...alertVars, ...vars },
});

// Production's shape: two web, two api, a db, a mail relay, the bastion, the monitoring host.
const prod = [
  host('bastion', '10.0.0.5', ['bastion']),
  host('web1', '10.0.1.10', ['web']),
  host('web2', '10.0.1.11', ['web']),
  host('api1', '10.0.2.10', ['api']),
  host('api2', '10.0.2.11', ['api']),
  host('db1', '10.0.3.10', ['db']),
  host('mail1', '10.0.4.10', ['mail']),
  host('mon1', '10.0.4.20', ['monitoring']),
];
const mon1 = prod.at(-1) as Host;
const inputs = await roleInputs(monitoring, [mon1], { hosts: prod });

/** What a file task writes: the content its plan installs on a host that has no such file. */
function contentOf(task: Task | undefined): string {
  assert.ok(task, 'no such task');
  const plan = task.operation.plan(null);
  const stdin = plan.commands.find((command) => command.stdin !== undefined)?.stdin;
  assert.ok(stdin !== undefined, `${task.name} writes no file`);
  return String(stdin);
}
const taskNamed = (tasks: Task[], name: RegExp) => tasks.find((task) => name.test(task.name));

describe('monitoring role: scrape targets from the inventory', () => {
  const targets = scrapeTargets(mon1, prod, { probeUrls: ['https://refereezy.example/'] });
  const instances = (groups: TargetGroup[]) =>
    groups.map((group) => `${group.targets.join(',')} as ${group.labels?.instance ?? '(probed)'}`);

  it('when rendered, then node_exporter is scraped on every host, by address, named after the host', () => {
    assert.deepEqual(
      instances(targets.node),
      prod.map((h) => `${h.address}:9100 as ${h.name}:9100`),
    );
  });

  it('when rendered, then each group has its exporter: api :9464, web nginx :9113, db postgres :9187, and no lb group gives no lb target', () => {
    assert.deepEqual(instances(targets.api), ['10.0.2.10:9464 as api1:9464', '10.0.2.11:9464 as api2:9464']);
    assert.deepEqual(instances(targets.web), ['10.0.1.10:9113 as web1:9113', '10.0.1.11:9113 as web2:9113']);
    assert.deepEqual(instances(targets.postgres), ['10.0.3.10:9187 as db1:9187']);
    assert.deepEqual(targets.lb, []);
  });

  it("when rendered, then the monitoring host's own services are scraped over loopback", () => {
    assert.deepEqual(instances(targets.prometheus), ['127.0.0.1:9090 as mon1:9090']);
    assert.deepEqual(instances(targets.alertmanager), ['127.0.0.1:9093 as mon1:9093']);
    assert.deepEqual(instances(targets['sms-notifier']), ['127.0.0.1:9095 as mon1:9095']);
    assert.deepEqual(instances(targets['blackbox-exporter']), ['127.0.0.1:9115 as mon1:9115']);
  });

  it("when rendered, then the probes are the given URLs and the bastion's SSH", () => {
    assert.deepEqual(targets['blackbox-http'], [{ targets: ['https://refereezy.example/'] }]);
    assert.deepEqual(targets['blackbox-ssh'], [{ targets: ['10.0.0.5:22'] }]);
    assert.deepEqual(scrapeTargets(mon1, [mon1], { probeUrls: [] })['blackbox-http'], []);
  });

  it("when a role's ingress says which job scrapes a port, then the targets take that port; none or two is an error", () => {
    const cases = [
      { ingress: [{ port: 9999, from: ['monitoring'], why: 'exporter', scrape: 'web' }], expected: 9999 },
      { ingress: [{ port: 80, from: ['edge'], why: 'HTTP' }], expected: /role r: 0 ingress rules say scrape: 'web'/ },
      {
        ingress: [
          { port: 1, from: ['monitoring'], why: 'a', scrape: 'web' },
          { port: 2, from: ['monitoring'], why: 'b', scrape: 'web' },
        ],
        expected: /role r: 2 ingress rules say scrape: 'web'/,
      },
    ];
    for (const { ingress, expected } of cases) {
      if (typeof expected === 'number') assert.equal(scrapedPort({ name: 'r', ingress }, 'web'), expected);
      else assert.throws(() => scrapedPort({ name: 'r', ingress }, 'web'), expected);
    }
    assert.deepEqual(exporterPorts, { node: 9100, api: 9464, postgres: 9187, lb: 8404, web: 9113, waf: 9145 });
  });

  it('when the inventory has no Patroni or etcd hosts, then their jobs have no targets', () => {
    assert.deepEqual(targets.patroni, []);
    assert.deepEqual(targets.etcd, []);
  });

  it("when the inventory has the HA database and the DR region, then Patroni's REST API :8008 and etcd's metrics :2381 are scraped, each labelled with its cluster", () => {
    const ha = [
      ...['db1', 'db2'].map((name, index) => host(name, `10.0.3.1${index}`, ['patroni'], { region: 'eu-west-1' })),
      ...['etcd1', 'etcd2', 'etcd3'].map((name, index) =>
        host(name, `10.0.3.2${index}`, ['etcd'], { region: 'eu-west-1' }),
      ),
      host('db-dr1', '10.1.3.10', ['patroni'], { region: 'eu-central-1', patroni_standby_source: 'db.example' }),
      host('etcd-dr1', '10.1.3.20', ['etcd'], { region: 'eu-central-1' }),
      mon1,
    ];
    const rendered = scrapeTargets(mon1, ha, { probeUrls: [] });
    const withCluster = (groups: TargetGroup[]) =>
      groups.map((group) => `${group.targets.join(',')} as ${group.labels?.instance} in ${group.labels?.cluster}`);
    assert.deepEqual(withCluster(rendered.patroni), [
      '10.0.3.10:8008 as db1:8008 in refereezy',
      '10.0.3.11:8008 as db2:8008 in refereezy',
      '10.1.3.10:8008 as db-dr1:8008 in refereezy-dr',
    ]);
    // 2381, never the client port 2379 (no authentication).
    assert.deepEqual(withCluster(rendered.etcd), [
      '10.0.3.20:2381 as etcd1:2381 in refereezy',
      '10.0.3.21:2381 as etcd2:2381 in refereezy',
      '10.0.3.22:2381 as etcd3:2381 in refereezy',
      '10.1.3.20:2381 as etcd-dr1:2381 in refereezy-dr',
    ]);
  });

  it('when a host has an IPv6 address, then its target is bracketed', () => {
    const v6 = host('web9', 'fd00::10', ['web']);
    assert.deepEqual(instances(scrapeTargets(mon1, [v6], { probeUrls: [] }).web), ['[fd00::10]:9113 as web9:9113']);
  });

  it('when a target file is written, then it is file_sd YAML that reads back as the groups (an empty job as [])', () => {
    assert.deepEqual(parse(targetFile('node', targets.node)), targets.node);
    assert.deepEqual(parse(targetFile('lb', [])), []);
    assert.match(targetFile('node', targets.node), /^# Prometheus job node: rendered from the inventory/);
  });
});

describe('monitoring role: one source with the replica', () => {
  const template = readFileSync(prometheusTemplate, 'utf8');

  it("when the template's file_sd files are listed, then they are the role's jobs, and the replica image ships one file per job but the HA database's", () => {
    const referenced = new Set([...template.matchAll(/files: \[targets\/([a-z-]+)\.yml\]/g)].map((match) => match[1]));
    assert.deepEqual([...referenced].sort(), [...jobs].sort());
    const replica = readdirSync(new URL('../../../compose/prometheus/targets/', import.meta.url)).map((name) =>
      name.replace(/\.yml$/, ''),
    );
    // Patroni's and etcd's the image's entrypoint renders from PROMETHEUS_HA_TARGETS (the clusters that run).
    const rendered: readonly string[] = haJobs;
    assert.deepEqual(replica.sort(), jobs.filter((job) => !rendered.includes(job)).sort());
  });

  it('when the role renders prometheus.yml, then it is the template with production intervals and the local blackbox exporter', () => {
    const rendered = contentOf(taskNamed(monitoring.tasks(mon1, { hosts: prod, inputs }), /^Render prometheus\.yml/));
    const config = parse(rendered) as {
      global: Record<string, string>;
      scrape_configs: { job_name: string; relabel_configs?: { replacement?: string }[] }[];
    };
    assert.deepEqual(config.global, { scrape_interval: '15s', scrape_timeout: '10s', evaluation_interval: '15s' });
    assert.deepEqual(config.scrape_configs.map((job) => job.job_name).sort(), [...jobs].sort());
    assert.equal(
      config.scrape_configs.find((job) => job.job_name === 'blackbox-ssh')?.relabel_configs?.at(-1)?.replacement,
      '127.0.0.1:9115',
    );
    assert.doesNotMatch(rendered, /\$\{/);
  });

  it("when the role installs the rules, then they are monitoring/prometheus/alerts.yml byte for byte, at the path prometheus.yml's rule_files reads", () => {
    const tasks = monitoring.tasks(mon1, { hosts: prod, inputs });
    const rules = taskNamed(tasks, /alert rules of monitoring/);
    assert.equal(contentOf(rules), readFileSync(alertRulesSource, 'utf8'));
    assert.equal(paths.rules, '/etc/prometheus/rules/alerts.yml');
    assert.deepEqual(rules?.notify, ['reload prometheus']);
  });

  it("when the role renders Alertmanager's routing, then the mail relay is the inventory's mail host and the rest comes from vars", () => {
    const rendered = contentOf(taskNamed(monitoring.tasks(mon1, { hosts: prod, inputs }), /Alertmanager's routing/));
    const config = parse(rendered) as {
      global: Record<string, unknown>;
      route: Record<string, unknown>;
      receivers: { name: string; webhook_configs?: { url: string }[]; email_configs?: { to: string }[] }[];
    };
    assert.deepEqual(config.global, {
      smtp_smarthost: '10.0.4.10:25',
      smtp_from: 'alertmanager@refereezy.example',
      smtp_require_tls: false,
      resolve_timeout: '5m',
    });
    assert.equal(config.route.group_interval, '5m');
    assert.deepEqual(
      config.receivers.map((receiver) => receiver.name),
      ['critical-sms-and-email', 'warning-email', 'deadmans-switch'],
    );
    assert.deepEqual(
      config.receivers[0]?.webhook_configs?.map((hook) => hook.url),
      ['http://127.0.0.1:9095/alert'],
    );
    assert.deepEqual(
      config.receivers[1]?.email_configs?.map((mail) => mail.to),
      ['admins@refereezy.example'],
    );
  });

  it('when vars set the relay, the notifier and the intervals, then those are rendered', () => {
    const custom = host('mon2', '10.0.4.21', ['monitoring'], {
      alert_smtp_smarthost: 'smtp.internal:587',
      alert_smtp_require_tls: true,
      alert_sms_notifier_url: 'http://10.0.4.30:9095/',
      alert_group_interval: '1m',
      prometheus_scrape_interval: '30s',
    });
    const values = templateValues(custom, { hosts: [custom] });
    assert.equal(values.alertmanager.ALERT_SMTP_SMARTHOST, 'smtp.internal:587');
    assert.equal(values.alertmanager.ALERT_SMTP_REQUIRE_TLS, 'true');
    assert.equal(values.alertmanager.ALERT_SMS_NOTIFIER_URL, 'http://10.0.4.30:9095');
    assert.equal(values.alertmanager.ALERT_GROUP_INTERVAL, '1m');
    assert.equal(values.prometheus.PROMETHEUS_SCRAPE_INTERVAL, '30s');
  });

  it('when no mail host relays and no relay is set, then the role refuses, naming the host, the role and the variable', () => {
    const alone = host('mon1', '10.0.4.20', ['monitoring']);
    assert.throws(
      () => monitoring.tasks(alone, { hosts: [alone], inputs }),
      /^Error: host mon1: role monitoring: vars\.alert_smtp_smarthost: no host in group mail/,
    );
  });

  it('when a var is malformed or missing, then the role refuses before anything connects', () => {
    const bad = host('mon1', '10.0.4.20', ['monitoring'], {
      alert_email_to: "x' y",
      prometheus_scrape_interval: 'often',
    });
    assert.throws(
      () => monitoring.tasks(bad, { hosts: prod, inputs }),
      /role monitoring: vars\.alert_email_to: an email address; vars\.prometheus_scrape_interval: a Prometheus duration/,
    );
    const missing: Host = { ...mon1, vars: {} };
    assert.throws(
      () => monitoring.tasks(missing, { hosts: prod, inputs }),
      /vars\.alert_email_to: .*vars\.alert_smtp_from/,
    );
  });
});

describe('monitoring role: handlers and security group', () => {
  it('when a handler reloads or restarts a service, then it first checks the configuration with the tool of that service', () => {
    const tasks = monitoring.tasks(mon1, { hosts: prod, inputs });
    const notified = new Set(tasks.flatMap((task) => task.notify ?? []));
    assert.deepEqual([...notified].sort(), Object.keys(monitoring.handlers).sort());
    // The notifier's configuration is its environment, checked with its own schema when planned: restarted, then awaited.
    const { 'restart sms-notifier': notifier, ...checked } = monitoring.handlers;
    assert.deepEqual(
      notifier?.commands.map((command) => command.argv.slice(0, 3).join(' ')),
      ['systemctl restart sms-notifier.service', 'node --input-type=module --eval'],
    );
    assert.match(notifier.commands[1]?.argv[3] ?? '', /127\.0\.0\.1:9095\/healthz/);
    for (const [name, handler] of Object.entries(checked)) {
      const [check, act] = handler.commands.map((command) => command.argv.join(' '));
      assert.match(
        check ?? '',
        /^(promtool check config|amtool check-config|prometheus-blackbox-exporter .*--config\.check)/,
        name,
      );
      assert.match(act ?? '', /^systemctl (reload|restart) /, name);
    }
  });

  it('when the ingress is read, then the UIs admit only the bastion and the blackbox exporter is not exposed', () => {
    assert.deepEqual(
      monitoring.ingress?.map((rule) => [rule.port, rule.from]),
      [
        [9090, ['bastion']],
        [9093, ['bastion']],
      ],
    );
  });
});

describe('monitoring role: the SMS notifier and the daily report', () => {
  const freshTimer: TimerFact = {
    service: null,
    timer: null,
    unit: { load: 'not-found', enabled: '', active: 'inactive', condition: null },
  };
  const mail1 = prod.find((candidate) => candidate.name === 'mail1');
  const withVars = (vars: Record<string, unknown>) => host('mon1', '10.0.4.20', ['monitoring'], vars);

  it('when production is configured (SNS, numbers and region from the vault), then the notifier gets them, on port 9095', () => {
    assert.deepEqual(notifierEnvironments(mon1, { hosts: prod }).smsNotifier, {
      NODE_ENV: 'production',
      NOTIFIER_PORT: '9095',
      SMS_RECIPIENTS: '+34600000001,+34600000002',
      SMS_PROVIDER: 'sns',
      AWS_REGION: 'eu-west-1',
    });
  });

  it('when the outbox provider is chosen (a lab), then messages go to a file in the unit’s state directory', () => {
    const { smsNotifier } = notifierEnvironments(
      withVars({ sms_provider: 'outbox', sms_aws_region: undefined, sms_sender_id: 'Refereezy' }),
      { hosts: prod },
    );
    assert.equal(smsNotifier.SMS_PROVIDER, 'outbox');
    assert.equal(smsNotifier.SMS_OUTBOX_FILE, '/var/lib/sms-notifier/outbox.jsonl');
    assert.equal(smsNotifier.AWS_REGION, undefined);
    assert.equal(smsNotifier.SMS_SENDER_ID, undefined);
    assert.match(readFileSync(smsNotifierUnitSource, 'utf8'), /^StateDirectory=sms-notifier$/m);
  });

  it('when the daily report is configured by default, then it reads the local Prometheus and mails through the inventory’s mail host, as Alertmanager does', () => {
    const { dailyReport, reportAt } = notifierEnvironments(mon1, { hosts: prod });
    assert.deepEqual(dailyReport, {
      NODE_ENV: 'production',
      PROMETHEUS_URL: 'http://127.0.0.1:9090',
      SMTP_HOST: mail1?.address,
      SMTP_PORT: '25',
      SMTP_REQUIRE_TLS: 'false',
      REPORT_FROM: 'alertmanager@refereezy.example',
      REPORT_TO: 'admins@refereezy.example',
      REPORT_AT: '07:00',
      ENVIRONMENT_NAME: 'production',
    });
    assert.equal(reportAt, '07:00');
    assert.equal(dailyAt(reportAt), '*-*-* 07:00:00 UTC');
  });

  it('when the relay, the time and the addresses are set, then the report uses them (an IPv6 relay without its brackets)', () => {
    const custom = withVars({
      alert_smtp_smarthost: '[fd00::25]:587',
      alert_smtp_require_tls: true,
      daily_report_at: '05:30',
      daily_report_from: 'reports@refereezy.example',
      daily_report_to: ['a@refereezy.example', 'b@refereezy.example'],
      daily_report_environment: 'staging',
    });
    const { dailyReport, reportAt } = notifierEnvironments(custom, { hosts: [custom] });
    assert.equal(dailyReport.SMTP_HOST, 'fd00::25');
    assert.equal(dailyReport.SMTP_PORT, '587');
    assert.equal(dailyReport.SMTP_REQUIRE_TLS, 'true');
    assert.equal(dailyReport.REPORT_FROM, 'reports@refereezy.example');
    assert.equal(dailyReport.REPORT_TO, 'a@refereezy.example,b@refereezy.example');
    assert.equal(dailyReport.ENVIRONMENT_NAME, 'staging');
    assert.equal(reportAt, '05:30');
  });

  it('when a value breaks the notifier’s own config schema, then the role refuses before anything connects, naming the variable', () => {
    assert.throws(
      () => monitoring.tasks(withVars({ sms_recipients: ['600 000 001'] }), { hosts: prod, inputs }),
      /^Error: host mon1: role monitoring: invalid SMS notifier environment: SMS_RECIPIENTS\.0: an E\.164 number/,
    );
    assert.throws(
      () => monitoring.tasks(withVars({ sms_aws_region: 'Ireland' }), { hosts: prod, inputs }),
      /^Error: host mon1: role monitoring: invalid SMS notifier environment: AWS_REGION: /,
    );
    assert.throws(
      () => monitoring.tasks(withVars({ daily_report_at: '7am' }), { hosts: prod, inputs }),
      /^Error: host mon1: role monitoring: invalid daily report environment: REPORT_AT: /,
    );
    assert.throws(
      () => monitoring.tasks(withVars({ daily_report_from: 'reports' }), { hosts: prod, inputs }),
      /invalid daily report environment: REPORT_FROM: /,
    );
    assert.throws(
      () => monitoring.tasks(withVars({ sms_aws_region: undefined }), { hosts: prod, inputs }),
      /^Error: host mon1: role monitoring: vars\.sms_aws_region: required with sms_provider sns/,
    );
    assert.throws(
      () => monitoring.tasks(withVars({ sms_recipients: undefined }), { hosts: prod, inputs }),
      /^Error: host mon1: role monitoring: vars\.sms_recipients: required: the on-call admins' E\.164 numbers \(keep them in the vault\)/,
    );
  });

  it('when the tasks are planned on a fresh host, then the notifier’s environment is a secret file of root’s, its unit the repo’s, and the report a daily timer', () => {
    const tasks = monitoring.tasks(mon1, { hosts: prod, inputs });
    const environment = taskNamed(tasks, /SMS notifier's environment/);
    assert.ok(environment);
    const plan = environment.operation.plan(null);
    assert.match(plan.reason, /^create \/etc\/refereezy\/sms-notifier\.env \(sensitive, sha256 [0-9a-f]{12}…\)$/);
    assert.deepEqual(plan.commands[0]?.argv.slice(5, 8), ['0600', 'root', 'root']);
    assert.doesNotMatch(plan.diff ?? '', /34600000001/);
    assert.deepEqual(environment.notify, ['restart sms-notifier']);
    assert.equal(contentOf(taskNamed(tasks, /sms-notifier unit/)), readFileSync(smsNotifierUnitSource, 'utf8'));
    const timerTask = taskNamed(tasks, /daily health report/);
    assert.ok(timerTask);
    assert.equal(timerTask.name, 'Send the daily health report every day at 07:00 UTC');
    const [service = '', timer = ''] = timerTask.operation
      .plan(freshTimer)
      .commands.map((command) => String(command.stdin ?? ''));
    assert.match(service, /^User=notifier$/m);
    assert.match(
      service,
      /^ExecStart=\/usr\/bin\/node --enable-source-maps \/opt\/refereezy\/notifier\/current\/dist\/main\.js daily-report --now$/m,
    );
    assert.match(timer, /^OnCalendar=\*-\*-\* 07:00:00 UTC$/m);
    assert.match(timer, /^Persistent=true$/m);
  });

  it('when the daily report runs, then its sandbox is the SMS notifier’s (the same hardening directives)', () => {
    const hardening = (unit: string) =>
      (unit.slice(unit.indexOf('# Hardening')).split(/^\[/m)[0] ?? '')
        .split('\n')
        .filter((line) => /^[A-Z]\w+=/.test(line));
    const notifierUnit = readFileSync(smsNotifierUnitSource, 'utf8');
    assert.ok(hardening(notifierUnit).length > 20);
    assert.deepEqual(hardening(readFileSync(dailyReportDropInSource, 'utf8')), hardening(notifierUnit));
    assert.match(
      readFileSync(dailyReportDropInSource, 'utf8'),
      /^EnvironmentFile=\/etc\/refereezy\/daily-report\.env$/m,
    );
  });
});
