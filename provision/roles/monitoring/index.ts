import { z } from 'zod';
import type { Host } from '../../inventories/schema.js';
import { packages } from '../../operations/apt.js';
import { directory, file } from '../../operations/files.js';
import { run } from '../../operations/operation.js';
import { service } from '../../operations/systemd.js';
import { renderTemplate } from '../../templates/envsubst.js';
import { ConfigError } from '../../../monitoring/notifier/src/config.js';
import type { InputNeeds } from '../inputs.js';
import { playInputs, type Play, type Role, type Task } from '../role.js';
import { roleVars } from '../vars.js';
import {
  dailyReportEnvironment,
  notifierPackage,
  notifierSources,
  notifierTasks,
  notifierVars,
  restartSmsNotifier,
  smsNotifierEnvironment,
} from './notifier.js';
import { jobs, localPorts, scrapeTargets, targetFile } from './targets.js';

/** The deadman role's port (provision/roles/deadman; not imported: that role imports this folder). */
const deadmanSwitchPort = 9096;

// One source each, shared with the replica's images (compose/prometheus, compose/alertmanager,
// compose/blackbox-exporter): read or rendered here as they are, never copied.
export const alertRulesSource = new URL('../../../monitoring/prometheus/alerts.yml', import.meta.url);
export const prometheusTemplate = new URL('../../../compose/prometheus/prometheus.yml.template', import.meta.url);
export const alertmanagerTemplate = new URL(
  '../../../monitoring/alertmanager/alertmanager.yml.template',
  import.meta.url,
);
export const blackboxModulesSource = new URL('../../../compose/blackbox-exporter/blackbox.yml', import.meta.url);

/** Debian's paths (packages prometheus, prometheus-alertmanager, prometheus-blackbox-exporter). */
export const paths = {
  prometheusConfig: '/etc/prometheus/prometheus.yml',
  rules: '/etc/prometheus/rules/alerts.yml',
  targets: '/etc/prometheus/targets',
  alertmanagerConfig: '/etc/prometheus/alertmanager.yml',
  blackboxConfig: '/etc/prometheus/blackbox.yml',
} as const;

const duration = z.string().regex(/^([0-9]+(ms|s|m|h|d|w|y))+$/, "a Prometheus duration ('15s', '5m')");
// Values land inside single-quoted YAML strings: no quotes, no spaces.
const mailAddress = z.string().regex(/^[^\s@'"]+@[^\s@'"]+$/, 'an email address');
const smarthost = z.string().regex(/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):[0-9]+$/, 'host:port');
const httpUrl = z.string().regex(/^https?:\/\/[^\s'"]+$/, 'an http(s) URL');

const vars = z.object({
  ...notifierVars.shape,
  /** The admins who receive alert mail. */
  alert_email_to: mailAddress,
  /** The sender of alert mail (a domain the mail relay may send for). */
  alert_smtp_from: mailAddress,
  /** host:port of the mail relay; default: the inventory's host in group mail, port 25. */
  alert_smtp_smarthost: smarthost.optional(),
  /** The relay is the platform's Postfix on the private network, which takes plain SMTP from it (as the replica's does). */
  alert_smtp_require_tls: z.boolean().default(false),
  /** Base URL of the SMS notifier Alertmanager's critical route calls (POST /alert, /heartbeat). */
  alert_sms_notifier_url: httpUrl.default(`http://127.0.0.1:${localPorts['sms-notifier']}`),
  /**
   * Base URL of the dead man's switch the Watchdog heartbeat goes to (POST /heartbeat). Default: the
   * inventory's host in group deadman (role deadman, outside this host's failure domain;
   * docs/runbooks/monitoring-down.md); with none, the local SMS notifier, which only records it.
   */
  alert_deadman_url: httpUrl.optional(),
  /** How soon a group's changes (new alerts, resolutions) go out. */
  alert_group_interval: duration.default('5m'),
  prometheus_scrape_interval: duration.default('15s'),
  prometheus_scrape_timeout: duration.default('10s'),
  prometheus_evaluation_interval: duration.default('15s'),
  /** URLs probed from the outside in (the CDN's public URL). */
  monitoring_probe_urls: z.array(httpUrl).default([]),
});

function fail(host: Host, message: string): never {
  throw new Error(`host ${host.name}: role monitoring: ${message}`);
}

type Settings = z.output<typeof vars>;

function settingsOf(host: Host): Settings {
  return roleVars(vars, host, 'monitoring');
}

/** The mail relay (host:port) of alert mail and the daily report: alert_smtp_smarthost, else the inventory's mail host on port 25. */
function mailRelay(host: Host, play: Play, settings: Settings): string {
  const mailHost = play.hosts.find((candidate) => candidate.groups.includes('mail'));
  const relay =
    settings.alert_smtp_smarthost ??
    (mailHost ? `${mailHost.address.includes(':') ? `[${mailHost.address}]` : mailHost.address}:25` : undefined);
  if (relay === undefined)
    fail(
      host,
      'vars.alert_smtp_smarthost: no host in group mail relays alert mail; add one or set alert_smtp_smarthost',
    );
  return relay;
}

/** The dead man's switch of the inventory (a host in group deadman), if any. */
function deadmanUrl(play: Play): string | undefined {
  const switchHost = play.hosts.find((candidate) => candidate.groups.includes('deadman'));
  if (!switchHost) return undefined;
  return `http://${switchHost.address.includes(':') ? `[${switchHost.address}]` : switchHost.address}:${deadmanSwitchPort}`;
}

/** The template variables of both images' entrypoints, from the host's vars and the inventory. */
export function templateValues(
  host: Host,
  play: Play,
): { prometheus: Record<string, string>; alertmanager: Record<string, string>; probeUrls: string[] } {
  const settings = settingsOf(host);
  const relay = mailRelay(host, play, settings);
  return {
    prometheus: {
      PROMETHEUS_SCRAPE_INTERVAL: settings.prometheus_scrape_interval,
      PROMETHEUS_SCRAPE_TIMEOUT: settings.prometheus_scrape_timeout,
      PROMETHEUS_EVALUATION_INTERVAL: settings.prometheus_evaluation_interval,
      PROMETHEUS_BLACKBOX_EXPORTER: `127.0.0.1:${localPorts['blackbox-exporter']}`,
    },
    alertmanager: {
      ALERT_SMTP_SMARTHOST: relay,
      ALERT_SMTP_REQUIRE_TLS: String(settings.alert_smtp_require_tls),
      ALERT_SMTP_FROM: settings.alert_smtp_from,
      ALERT_EMAIL_TO: settings.alert_email_to,
      ALERT_SMS_NOTIFIER_URL: settings.alert_sms_notifier_url.replace(/\/+$/, ''),
      ALERT_DEADMAN_URL: (settings.alert_deadman_url ?? deadmanUrl(play) ?? settings.alert_sms_notifier_url).replace(
        /\/+$/,
        '',
      ),
      ALERT_GROUP_INTERVAL: settings.alert_group_interval,
    },
    probeUrls: settings.monitoring_probe_urls,
  };
}

/**
 * The notifier's two environments (the SMS notifier's, the daily report's) and the report's time,
 * each checked with the notifier's own schema (monitoring/notifier/src/config.ts) before anything
 * connects. The report mails through Alertmanager's relay, from and to Alertmanager's addresses
 * unless its own vars say otherwise.
 */
export function notifierEnvironments(
  host: Host,
  play: Play,
): { smsNotifier: Record<string, string>; dailyReport: Record<string, string>; reportAt: string } {
  const settings = settingsOf(host);
  const relay = mailRelay(host, play, settings);
  const split = /^\[?(.*?)\]?:(\d+)$/.exec(relay);
  try {
    const smsNotifier = smsNotifierEnvironment(settings, localPorts['sms-notifier']);
    const report = dailyReportEnvironment(
      settings,
      {
        smtpHost: split?.[1] ?? relay,
        smtpPort: Number(split?.[2] ?? 25),
        requireTls: settings.alert_smtp_require_tls,
        from: settings.alert_smtp_from,
        to: settings.alert_email_to,
      },
      localPorts.prometheus,
    );
    return { smsNotifier, dailyReport: report.environment, reportAt: report.at };
  } catch (error) {
    if (error instanceof ConfigError) fail(host, error.message);
    throw error;
  }
}

/**
 * The files the tasks install or render, and the notifier's release: read (or built) before
 * planning, once every var is known good.
 */
function inputs(host: Host, play: Play): InputNeeds {
  templateValues(host, play);
  notifierEnvironments(host, play);
  return {
    files: [alertRulesSource, prometheusTemplate, alertmanagerTemplate, blackboxModulesSource, ...notifierSources],
    releases: [{ pkg: notifierPackage, file: settingsOf(host).notifier_release_file }],
  };
}

function tasks(host: Host, play: Play): Task[] {
  const values = templateValues(host, play);
  const targets = scrapeTargets(host, play.hosts, { probeUrls: values.probeUrls });
  const environments = notifierEnvironments(host, play);
  const read = playInputs(play);
  const release = read.release({ pkg: notifierPackage, file: settingsOf(host).notifier_release_file });
  return [
    {
      name: 'Install Prometheus, Alertmanager and the blackbox exporter',
      operation: packages({
        packages: ['prometheus', 'prometheus-alertmanager', 'prometheus-blackbox-exporter'],
        present: true,
      }),
    },
    { name: 'Create the directory of the alert rules', operation: directory({ path: '/etc/prometheus/rules' }) },
    {
      name: 'Install the alert rules of monitoring/prometheus/alerts.yml',
      operation: file({ path: paths.rules, content: read.text(alertRulesSource) }),
      notify: ['reload prometheus'],
    },
    { name: 'Create the directory of the scrape targets', operation: directory({ path: paths.targets }) },
    // No reload: Prometheus watches its file_sd files and re-reads them when they change.
    ...jobs.map((job) => ({
      name: `Render the ${job} targets from the inventory`,
      operation: file({ path: `${paths.targets}/${job}.yml`, content: targetFile(job, targets[job]) }),
    })),
    {
      name: 'Render prometheus.yml from compose/prometheus/prometheus.yml.template',
      operation: file({
        path: paths.prometheusConfig,
        content: renderTemplate(prometheusTemplate, read.text(prometheusTemplate), values.prometheus),
      }),
      notify: ['reload prometheus'],
    },
    {
      name: "Render Alertmanager's routing from monitoring/alertmanager/alertmanager.yml.template",
      operation: file({
        path: paths.alertmanagerConfig,
        content: renderTemplate(alertmanagerTemplate, read.text(alertmanagerTemplate), values.alertmanager),
        group: 'prometheus',
        mode: '0640',
      }),
      notify: ['reload alertmanager'],
    },
    {
      name: 'Run Alertmanager as a single instance, with no gossip cluster to join',
      operation: file({
        path: '/etc/default/prometheus-alertmanager',
        content:
          '# The provisioning role monitoring: one Alertmanager, no cluster port.\nARGS="--cluster.listen-address="\n',
      }),
      notify: ['restart alertmanager'],
    },
    {
      name: 'Install the probe modules of compose/blackbox-exporter/blackbox.yml',
      operation: file({ path: paths.blackboxConfig, content: read.text(blackboxModulesSource) }),
      notify: ['reload blackbox exporter'],
    },
    {
      name: "Keep the blackbox exporter on loopback, for this host's Prometheus only",
      operation: file({
        path: '/etc/default/prometheus-blackbox-exporter',
        content: `# The provisioning role monitoring: probes only for this host's Prometheus.\nARGS="--config.file ${paths.blackboxConfig} --web.listen-address=127.0.0.1:${localPorts['blackbox-exporter']}"\n`,
      }),
      notify: ['restart blackbox exporter'],
    },
    {
      name: 'Keep Prometheus enabled and running',
      operation: service({ unit: 'prometheus.service', enabled: true, running: true }),
    },
    {
      name: 'Keep Alertmanager enabled and running',
      operation: service({ unit: 'prometheus-alertmanager.service', enabled: true, running: true }),
    },
    {
      name: 'Keep the blackbox exporter enabled and running',
      operation: service({ unit: 'prometheus-blackbox-exporter.service', enabled: true, running: true }),
    },
    ...notifierTasks({ release, read, ...environments }),
  ];
}

// Every handler checks the configuration first: one the tool rejects never replaces the running one.
const checkPrometheus = run('promtool', 'check', 'config', paths.prometheusConfig);
const checkAlertmanager = run('amtool', 'check-config', paths.alertmanagerConfig);
const checkBlackbox = run('prometheus-blackbox-exporter', `--config.file=${paths.blackboxConfig}`, '--config.check');

/**
 * Prometheus with the platform's alert rules and a target per exporter of the inventory,
 * Alertmanager with the platform's routing, the blackbox exporter for the probes, the SMS notifier
 * Alertmanager pages through, and the daily health report (a timer). Operators reach the UIs through
 * the bastion (ssh -L); the notifier takes webhooks from this host only (no ingress rule).
 */
export const monitoring: Role = {
  name: 'monitoring',
  inputs,
  ingress: [
    {
      port: localPorts.prometheus,
      from: ['bastion'],
      why: "Prometheus' UI and API, for operators tunnelling through the bastion",
    },
    {
      port: localPorts.alertmanager,
      from: ['bastion'],
      why: "Alertmanager's UI and API, for operators tunnelling through the bastion",
    },
  ],
  // The exporters and the mail relay are peers (their ingress admits monitoring). Beyond them: SNS,
  // the probed URLs, the bastion's SSH (the blackbox SSH probe) and an outside smarthost.
  egress: (host) => {
    const urls = vars.shape.monitoring_probe_urls.catch([]).parse(host.vars.monitoring_probe_urls);
    const smarthostPort = /:(\d+)$/.exec(
      vars.shape.alert_smtp_smarthost.catch(undefined).parse(host.vars.alert_smtp_smarthost) ?? '',
    )?.[1];
    const probePorts = [
      ...new Set(urls.map((url) => Number(new URL(url).port || (url.startsWith('https:') ? 443 : 80)))),
    ];
    return [
      { port: 443, to: 'anywhere', why: 'the SMS provider (Amazon SNS) and HTTPS probes' },
      ...probePorts
        .filter((port) => port !== 443)
        .map((port) => ({ port, to: 'anywhere' as const, why: 'the probed URLs (var monitoring_probe_urls)' })),
      { port: 22, to: ['bastion'], why: 'the blackbox SSH probe of the bastion' },
      ...(smarthostPort === undefined
        ? []
        : [
            {
              port: Number(smarthostPort),
              to: 'anywhere' as const,
              why: 'alert mail to the smarthost (var alert_smtp_smarthost)',
            },
          ]),
    ];
  },
  tasks,
  handlers: {
    'reload prometheus': {
      name: 'reload prometheus',
      commands: [checkPrometheus, run('systemctl', 'reload', 'prometheus.service')],
    },
    'reload alertmanager': {
      name: 'reload alertmanager',
      commands: [checkAlertmanager, run('systemctl', 'reload', 'prometheus-alertmanager.service')],
    },
    'restart alertmanager': {
      name: 'restart alertmanager',
      commands: [checkAlertmanager, run('systemctl', 'restart', 'prometheus-alertmanager.service')],
    },
    'reload blackbox exporter': {
      name: 'reload blackbox exporter',
      commands: [checkBlackbox, run('systemctl', 'reload', 'prometheus-blackbox-exporter.service')],
    },
    'restart blackbox exporter': {
      name: 'restart blackbox exporter',
      commands: [checkBlackbox, run('systemctl', 'restart', 'prometheus-blackbox-exporter.service')],
    },
    // Its configuration is its environment, checked with its own schema when the tasks are planned.
    'restart sms-notifier': restartSmsNotifier(localPorts['sms-notifier']),
  },
};
