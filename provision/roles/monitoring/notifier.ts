import { z } from 'zod';
import { ConfigError, loadNotifierConfig, loadReportConfig } from '../../../monitoring/notifier/src/config.js';
import { packages } from '../../operations/apt.js';
import { command } from '../../operations/command.js';
import { directory, file } from '../../operations/files.js';
import { run } from '../../operations/operation.js';
import { service, unitFile } from '../../operations/systemd.js';
import { timer } from '../../operations/timer.js';
import { releaseTasks } from '../../releases/deploy.js';
import type { NodePackage, NodeRelease } from '../../releases/node-release.js';
import { renderEnvironmentFile } from '../../templates/environment-file.js';
import type { PlanInputs } from '../inputs.js';
import type { Handler, Task } from '../role.js';

/**
 * The notifier (monitoring/notifier) on the monitoring host, as the replica runs its image twice:
 * `sms-notifier`, the long-running webhook receiver of Alertmanager's critical route, and
 * `daily-report`, here a systemd timer running `daily-report --now` once a day instead of a process
 * that sleeps until REPORT_AT.
 */
export const notifierPackage: NodePackage = {
  name: 'notifier',
  title: 'notifier',
  dir: 'monitoring/notifier',
  dockerfile: 'compose/notifier/Dockerfile',
};

export const notifierRoot = '/opt/refereezy/notifier';
export const notifierUser = 'notifier';
export const smsNotifierUnit = 'sms-notifier.service';
export const dailyReportTimer = 'refereezy-daily-report';
export const environmentFiles = {
  smsNotifier: '/etc/refereezy/sms-notifier.env',
  dailyReport: '/etc/refereezy/daily-report.env',
} as const;
/** The outbox provider's file: in the unit's StateDirectory=, the only place it may write. */
export const outboxFile = '/var/lib/sms-notifier/outbox.jsonl';
export const smsNotifierUnitSource = new URL('./sms-notifier.service', import.meta.url);
export const dailyReportDropInSource = new URL('./daily-report.conf', import.meta.url);
/** The files notifierTasks reads (from the play's inputs). */
export const notifierSources: readonly URL[] = [smsNotifierUnitSource, dailyReportDropInSource];
/** Releases kept on the host (the current one always): room to roll back. */
const keptReleases = 3;

/** The role's vars for the notifier; the values themselves are judged by the notifier's own schema (monitoring/notifier/src/config.ts). */
export const notifierVars = z.object({
  /** sns: Amazon SNS with the instance role's credentials (production); outbox: a file on the host, nothing sent (a lab, a staging without SMS). */
  sms_provider: z.enum(['sns', 'outbox']).default('sns'),
  /** The on-call admins' E.164 numbers (from the vault). */
  sms_recipients: z
    .array(z.string(), {
      error: (issue) =>
        issue.input === undefined
          ? "required: the on-call admins' E.164 numbers (keep them in the vault)"
          : 'a list of E.164 numbers',
    })
    .min(1),
  /** SNS's region (with sms_provider sns). */
  sms_aws_region: z.string().optional(),
  /** The alphanumeric sender id of the texts, where the country allows one. */
  sms_sender_id: z.string().optional(),
  /** When the daily report goes out, HH:MM UTC (as the replica's REPORT_AT). */
  daily_report_at: z.string().default('07:00'),
  /** The report's sender; default: alert_smtp_from. */
  daily_report_from: z.string().optional(),
  /** Its recipients; default: alert_email_to. */
  daily_report_to: z.array(z.string()).min(1).optional(),
  /** The environment the report names (its subject). */
  daily_report_environment: z.string().default('production'),
  /** A notifier release tar.gz built elsewhere (CI); by default built here from monitoring/notifier. */
  notifier_release_file: z.string().optional(),
});
export type NotifierSettings = z.output<typeof notifierVars>;

/** The SMS notifier's environment, checked with the notifier's own schema before it is written; a ConfigError names what is wrong. */
export function smsNotifierEnvironment(settings: NotifierSettings, port: number): Record<string, string> {
  if (settings.sms_provider === 'sns' && settings.sms_aws_region === undefined)
    throw new ConfigError('vars.sms_aws_region: required with sms_provider sns (the region SNS sends from)');
  const environment: Record<string, string> = {
    NODE_ENV: 'production',
    NOTIFIER_PORT: String(port),
    SMS_RECIPIENTS: settings.sms_recipients.join(','),
    SMS_PROVIDER: settings.sms_provider,
    ...(settings.sms_provider === 'outbox'
      ? { SMS_OUTBOX_FILE: outboxFile }
      : {
          AWS_REGION: settings.sms_aws_region ?? '',
          ...(settings.sms_sender_id === undefined ? {} : { SMS_SENDER_ID: settings.sms_sender_id }),
        }),
  };
  loadNotifierConfig(environment);
  return environment;
}

export interface ReportMail {
  /** The mail relay (Alertmanager's): host name or address, and port. */
  smtpHost: string;
  smtpPort: number;
  requireTls: boolean;
  /** Alertmanager's sender and recipient, the report's defaults. */
  from: string;
  to: string;
}

/**
 * The daily report's environment (the replica's daily-report service's names), checked with the
 * notifier's own schema; and when it goes out, as that schema reads it.
 */
export function dailyReportEnvironment(
  settings: NotifierSettings,
  mail: ReportMail,
  prometheusPort: number,
): { environment: Record<string, string>; at: string } {
  const environment: Record<string, string> = {
    NODE_ENV: 'production',
    PROMETHEUS_URL: `http://127.0.0.1:${prometheusPort}`,
    SMTP_HOST: mail.smtpHost,
    SMTP_PORT: String(mail.smtpPort),
    SMTP_REQUIRE_TLS: String(mail.requireTls),
    REPORT_FROM: settings.daily_report_from ?? mail.from,
    REPORT_TO: settings.daily_report_to?.join(',') ?? mail.to,
    REPORT_AT: settings.daily_report_at,
    ENVIRONMENT_NAME: settings.daily_report_environment,
  };
  return { environment, at: loadReportConfig(environment).REPORT_AT };
}

/** systemd's calendar event for HH:MM UTC every day. */
export const dailyAt = (at: string): string => `*-*-* ${at}:00 UTC`;

/** The notifier's tasks: Node.js, its user, the release, the SMS notifier service and the daily report's timer. */
export function notifierTasks(options: {
  release: NodeRelease;
  /** The play's inputs: the units below. */
  read: PlanInputs;
  smsNotifier: Record<string, string>;
  dailyReport: Record<string, string>;
  reportAt: string;
}): Task[] {
  const { release } = options;
  const restart = ['restart sms-notifier'];
  return [
    { name: 'Install Node.js for the notifier', operation: packages({ packages: ['nodejs'], present: true }) },
    {
      name: `Create the system user ${notifierUser} (no login, no home)`,
      operation: command({
        argv: [
          'useradd',
          '--system',
          '--no-create-home',
          '--home-dir',
          '/nonexistent',
          '--shell',
          '/usr/sbin/nologin',
          notifierUser,
        ],
        unless: ['id', '-u', notifierUser],
      }),
    },
    ...releaseTasks({ root: notifierRoot, release, what: 'the notifier', keep: keptReleases, notify: restart }),
    { name: 'Create /etc/refereezy', operation: directory({ path: '/etc/refereezy' }) },
    {
      name: `Write the SMS notifier's environment ${environmentFiles.smsNotifier}`,
      operation: file({
        path: environmentFiles.smsNotifier,
        content: renderEnvironmentFile(options.smsNotifier),
        mode: '0600',
        sensitive: true,
      }),
      notify: restart,
    },
    {
      name: 'Install the sms-notifier unit (hardened)',
      operation: unitFile({ name: smsNotifierUnit, content: options.read.text(smsNotifierUnitSource) }),
      notify: restart,
    },
    {
      name: 'Keep the SMS notifier enabled and running',
      operation: service({ unit: smsNotifierUnit, enabled: true, running: true }),
    },
    {
      name: `Write the daily report's environment ${environmentFiles.dailyReport}`,
      operation: file({
        path: environmentFiles.dailyReport,
        content: renderEnvironmentFile(options.dailyReport),
        mode: '0600',
      }),
    },
    {
      name: "Create the daily report's drop-in directory",
      operation: directory({ path: `/etc/systemd/system/${dailyReportTimer}.service.d` }),
    },
    {
      name: "Install the daily report's environment and sandbox (a drop-in)",
      operation: unitFile({
        name: `${dailyReportTimer}.service.d/10-refereezy.conf`,
        content: options.read.text(dailyReportDropInSource),
      }),
    },
    {
      name: `Send the daily health report every day at ${options.reportAt} UTC`,
      operation: timer({
        name: dailyReportTimer,
        description: 'Refereezy daily health report',
        command: [
          '/usr/bin/node',
          '--enable-source-maps',
          `${notifierRoot}/current/dist/main.js`,
          'daily-report',
          '--now',
        ],
        user: notifierUser,
        onCalendar: dailyAt(options.reportAt),
        persistent: true,
      }),
    },
  ];
}

// Polls /healthz (what the image's healthcheck asks, compose/notifier/healthcheck.mjs) after a restart.
const waitHealthy = (port: number) => `const deadline = Date.now() + 60_000;
for (;;) {
  try {
    const response = await fetch('http://127.0.0.1:${port}/healthz', { signal: AbortSignal.timeout(2_000) });
    if (response.ok) process.exit(0);
  } catch {}
  if (Date.now() > deadline) {
    console.error('the SMS notifier did not answer /healthz within 60 s: journalctl -u ${smsNotifierUnit}');
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}`;

export const restartSmsNotifier = (port: number): Handler => ({
  name: 'restart sms-notifier',
  commands: [
    run('systemctl', 'restart', smsNotifierUnit),
    run('node', '--input-type=module', '--eval', waitHealthy(port)),
  ],
});
