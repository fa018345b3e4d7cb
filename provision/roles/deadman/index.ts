import { z } from 'zod';
import { ConfigError, loadDeadmanConfig } from '../../../monitoring/notifier/src/config.js';
import type { Host } from '../../inventories/schema.js';
import { packages } from '../../operations/apt.js';
import { command } from '../../operations/command.js';
import { directory, file } from '../../operations/files.js';
import { run } from '../../operations/operation.js';
import { service, unitFile } from '../../operations/systemd.js';
import { releaseTasks } from '../../releases/deploy.js';
import { renderEnvironmentFile } from '../../templates/environment-file.js';
import { notifierPackage, notifierRoot, notifierUser } from '../monitoring/notifier.js';
import type { InputNeeds, ReleaseNeed } from '../inputs.js';
import { playInputs, type Handler, type Play, type Role, type Task } from '../role.js';
import { roleVars } from '../vars.js';

/** The switch's port: Alertmanager's deadmans-switch receiver posts the Watchdog here (the replica's too). */
export const deadmanPort = 9096;
export const deadmanUnit = 'deadman.service';
export const deadmanEnvironmentFile = '/etc/refereezy/deadman.env';
export const deadmanUnitSource = new URL('./deadman.service', import.meta.url);
/** The outbox provider's file: in the unit's StateDirectory=, the only place it may write. */
export const deadmanOutboxFile = '/var/lib/deadman/outbox.jsonl';

const vars = z.object({
  /** How long without a Watchdog before it pages (a few of Alertmanager's one-minute repeats). */
  deadman_timeout: z.string().default('5m'),
  /** sns: Amazon SNS with the instance role (production); outbox: a file on the host (a lab). */
  sms_provider: z.enum(['sns', 'outbox']).default('sns'),
  sms_recipients: z
    .array(z.string(), {
      error: (issue) =>
        issue.input === undefined
          ? "required: the on-call admins' E.164 numbers (keep them in the vault)"
          : 'a list of E.164 numbers',
    })
    .min(1),
  sms_aws_region: z.string().optional(),
  sms_sender_id: z.string().optional(),
  /** The switch's mail: sender and recipients. */
  deadman_from: z.string(),
  deadman_to: z.array(z.string()).min(1),
  /** host:port of the mail relay; default: the inventory's mail host on port 25 (the host itself when it is that host). */
  deadman_smtp_smarthost: z
    .string()
    .regex(/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):[0-9]+$/, 'host:port')
    .optional(),
  deadman_smtp_require_tls: z.boolean().default(false),
  /** The environment its messages name. */
  deadman_environment: z.string().default('production'),
  /** A notifier release tar.gz built elsewhere (CI); by default built here from monitoring/notifier. */
  notifier_release_file: z.string().optional(),
});
type Settings = z.output<typeof vars>;

function fail(host: Host, message: string): never {
  throw new Error(`host ${host.name}: role deadman: ${message}`);
}

function relayOf(host: Host, play: Play, settings: Settings): { smtpHost: string; smtpPort: number } {
  if (settings.deadman_smtp_smarthost !== undefined) {
    const [, smtpHost = '', smtpPort = '25'] = /^\[?(.*?)\]?:(\d+)$/.exec(settings.deadman_smtp_smarthost) ?? [];
    return { smtpHost, smtpPort: Number(smtpPort) };
  }
  if (host.groups.includes('mail')) return { smtpHost: '127.0.0.1', smtpPort: 25 };
  const mailHost = play.hosts.find((candidate) => candidate.groups.includes('mail'));
  if (!mailHost)
    fail(
      host,
      'vars.deadman_smtp_smarthost: no host in group mail relays its mail; add one or set deadman_smtp_smarthost',
    );
  return { smtpHost: mailHost.address, smtpPort: 25 };
}

/** The switch's environment, checked with the notifier's own schema before anything connects. */
export function deadmanEnvironment(host: Host, play: Play): Record<string, string> {
  const settings = roleVars(vars, host, 'deadman');
  // The point of the switch is to be elsewhere: on the monitoring host it would die with what it watches.
  if (host.groups.includes('monitoring'))
    fail(
      host,
      "it is also in group monitoring: the dead man's switch must run outside the monitoring host's failure domain",
    );
  const relay = relayOf(host, play, settings);
  const environment: Record<string, string> = {
    NODE_ENV: 'production',
    DEADMAN_PORT: String(deadmanPort),
    DEADMAN_TIMEOUT: settings.deadman_timeout,
    SMS_RECIPIENTS: settings.sms_recipients.join(','),
    SMS_PROVIDER: settings.sms_provider,
    ...(settings.sms_provider === 'outbox'
      ? { SMS_OUTBOX_FILE: deadmanOutboxFile }
      : {
          AWS_REGION: settings.sms_aws_region ?? '',
          ...(settings.sms_sender_id === undefined ? {} : { SMS_SENDER_ID: settings.sms_sender_id }),
        }),
    SMTP_HOST: relay.smtpHost,
    SMTP_PORT: String(relay.smtpPort),
    SMTP_REQUIRE_TLS: String(settings.deadman_smtp_require_tls),
    DEADMAN_FROM: settings.deadman_from,
    DEADMAN_TO: settings.deadman_to.join(','),
    ENVIRONMENT_NAME: settings.deadman_environment,
  };
  try {
    if (settings.sms_provider === 'sns' && settings.sms_aws_region === undefined)
      throw new ConfigError('vars.sms_aws_region: required with sms_provider sns (the region SNS sends from)');
    loadDeadmanConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) fail(host, error.message);
    throw error;
  }
  return environment;
}

const releaseNeed = (host: Host): ReleaseNeed => ({
  pkg: notifierPackage,
  file: roleVars(vars, host, 'deadman').notifier_release_file,
});

/** The unit and the notifier's release: read (or built) before planning, once the host's vars are known good. */
function inputs(host: Host, play: Play): InputNeeds {
  deadmanEnvironment(host, play);
  return { files: [deadmanUnitSource], releases: [releaseNeed(host)] };
}

function tasks(host: Host, play: Play): Task[] {
  const environment = deadmanEnvironment(host, play);
  const read = playInputs(play);
  const release = read.release(releaseNeed(host));
  const restart = ['restart deadman'];
  return [
    { name: "Install Node.js for the dead man's switch", operation: packages({ packages: ['nodejs'], present: true }) },
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
    ...releaseTasks({ root: notifierRoot, release, what: 'the notifier', keep: 3, notify: restart }),
    { name: 'Create /etc/refereezy', operation: directory({ path: '/etc/refereezy' }) },
    {
      name: `Write the switch's environment ${deadmanEnvironmentFile}`,
      operation: file({
        path: deadmanEnvironmentFile,
        content: renderEnvironmentFile(environment),
        mode: '0600',
        sensitive: true,
      }),
      notify: restart,
    },
    {
      name: 'Install the deadman unit (hardened)',
      operation: unitFile({ name: deadmanUnit, content: read.text(deadmanUnitSource) }),
      notify: restart,
    },
    {
      name: "Keep the dead man's switch enabled and running",
      operation: service({ unit: deadmanUnit, enabled: true, running: true }),
    },
  ];
}

const waitHealthy = `const deadline = Date.now() + 60_000;
for (;;) {
  try {
    const response = await fetch('http://127.0.0.1:${deadmanPort}/healthz', { signal: AbortSignal.timeout(2_000) });
    if (response.ok) process.exit(0);
  } catch {}
  if (Date.now() > deadline) {
    console.error("the dead man's switch did not answer /healthz within 60 s: journalctl -u ${deadmanUnit}");
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}`;

const restartDeadman: Handler = {
  name: 'restart deadman',
  commands: [run('systemctl', 'restart', deadmanUnit), run('node', '--input-type=module', '--eval', waitHealthy)],
};

/**
 * The dead man's switch (monitoring/notifier's `deadman`) on a host outside the monitoring host's
 * failure domain (production: the mail host). The monitoring role points Alertmanager's Watchdog at
 * it; when the heartbeat stops it pages through its own SNS and mail. docs/runbooks/monitoring-down.md.
 */
export const deadman: Role = {
  name: 'deadman',
  inputs,
  ingress: [
    { port: deadmanPort, from: ['monitoring'], why: "the dead man's switch: Alertmanager's Watchdog heartbeat" },
  ],
  tasks,
  handlers: { 'restart deadman': restartDeadman },
};
