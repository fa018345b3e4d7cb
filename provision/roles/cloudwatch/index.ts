import { z } from 'zod';
import type { Host } from '../../inventories/schema.js';
import { packages } from '../../operations/apt.js';
import { command } from '../../operations/command.js';
import { directory, file } from '../../operations/files.js';
import { timer } from '../../operations/timer.js';
import { renderEnvironmentFile } from '../../templates/environment-file.js';
import { endpoint, playInputs, type EgressRule, type Play, type Role, type Task } from '../role.js';
import { roleVars } from '../vars.js';

/** The namespace and metrics the CloudWatch agent would publish, and the Terraform alarms read (terraform/modules/alerting). */
export const cloudwatchNamespace = 'CWAgent';
export const cloudwatchMetrics = {
  disk: { name: 'disk_used_percent', dimensions: ['InstanceId', 'path'] },
  memory: { name: 'mem_used_percent', dimensions: ['InstanceId'] },
} as const;
export const cloudwatchScriptSource = new URL('./cloudwatch-metrics.sh', import.meta.url);
export const cloudwatchScript = '/usr/local/bin/cloudwatch-metrics';
export const cloudwatchEnvironmentFile = '/etc/refereezy/cloudwatch-metrics.env';
export const cloudwatchUnit = 'cloudwatch-metrics';
const cloudwatchUser = 'cwmetrics';

const vars = z
  .object({
    /** The region CloudWatch receives the metrics in (the alarms' region). Setting it enables the role on the host. */
    cloudwatch_region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region, e.g. eu-west-1'),
    cloudwatch_namespace: z.string().min(1).default(cloudwatchNamespace),
    /** The filesystems whose use is sent (disk_used_percent, dimension path): the alarms watch "/". */
    cloudwatch_paths: z
      .array(z.string().regex(/^\/[A-Za-z0-9._/-]*$/, 'an absolute path'))
      .min(1)
      .default(['/']),
    /** Another CloudWatch endpoint (a local AWS API emulator in a lab); production: the region's own. */
    cloudwatch_endpoint_url: z.url({ protocol: /^https?$/ }).optional(),
    /** The dimension InstanceId; production: none, read from the instance metadata service (IMDSv2). */
    cloudwatch_instance_id: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/)
      .optional(),
    /** A key for a host without an instance role (a lab): both or neither, in the vault. */
    cloudwatch_access_key_id: z.string().min(1).optional(),
    cloudwatch_secret_access_key: z.string().min(1).optional(),
    /** When it sends (systemd.time(7)): every minute, as the agent's default interval. */
    cloudwatch_on_calendar: z.string().default('*-*-* *:*:00'),
  })
  .refine(
    (settings) =>
      (settings.cloudwatch_access_key_id === undefined) === (settings.cloudwatch_secret_access_key === undefined),
    {
      error: 'cloudwatch_access_key_id and cloudwatch_secret_access_key go together (or neither: the instance role)',
      path: ['cloudwatch_access_key_id'],
    },
  );
type Settings = z.output<typeof vars>;

/** The role runs on a host that names a region (inventory, group or host vars: every host, usually). */
export function cloudwatchEnabled(host: Host): boolean {
  return host.vars.cloudwatch_region !== undefined;
}

/** The script's settings file (/etc/refereezy/cloudwatch-metrics.env), from the host's vars (checked). */
export function cloudwatchEnvironmentOf(host: Host): Record<string, string> {
  return cloudwatchEnvironment(roleVars(vars, host, 'cloudwatch'));
}

function cloudwatchEnvironment(settings: Settings): Record<string, string> {
  return {
    CW_REGION: settings.cloudwatch_region,
    CW_NAMESPACE: settings.cloudwatch_namespace,
    CW_PATHS: settings.cloudwatch_paths.join(' '),
    ...(settings.cloudwatch_endpoint_url === undefined ? {} : { CW_ENDPOINT_URL: settings.cloudwatch_endpoint_url }),
    ...(settings.cloudwatch_instance_id === undefined ? {} : { CW_INSTANCE_ID: settings.cloudwatch_instance_id }),
    ...(settings.cloudwatch_access_key_id === undefined || settings.cloudwatch_secret_access_key === undefined
      ? {}
      : {
          AWS_ACCESS_KEY_ID: settings.cloudwatch_access_key_id,
          AWS_SECRET_ACCESS_KEY: settings.cloudwatch_secret_access_key,
        }),
  };
}

function tasks(host: Host, play: Play): Task[] {
  const settings = roleVars(vars, host, 'cloudwatch');
  return [
    // Debian has no amazon-cloudwatch-agent; awscli (Debian's) sends what the agent would.
    { name: 'Install awscli (put-metric-data)', operation: packages({ packages: ['awscli'], present: true }) },
    {
      name: `Create the system user ${cloudwatchUser} (no login, no home) the metrics are sent as`,
      operation: command({
        argv: [
          'useradd',
          '--system',
          '--no-create-home',
          '--home-dir',
          '/nonexistent',
          '--shell',
          '/usr/sbin/nologin',
          cloudwatchUser,
        ],
        unless: ['id', '-u', cloudwatchUser],
      }),
    },
    {
      name: 'Install cloudwatch-metrics (disk and memory use for CloudWatch)',
      operation: file({ path: cloudwatchScript, content: playInputs(play).text(cloudwatchScriptSource), mode: '0755' }),
    },
    { name: 'Create /etc/refereezy', operation: directory({ path: '/etc/refereezy' }) },
    {
      name: `Write its settings ${cloudwatchEnvironmentFile} (readable by ${cloudwatchUser} only)`,
      operation: file({
        path: cloudwatchEnvironmentFile,
        content: renderEnvironmentFile(cloudwatchEnvironment(settings)),
        owner: 'root',
        group: cloudwatchUser,
        mode: '0640',
        sensitive: true,
      }),
    },
    {
      name: `Send the metrics to CloudWatch (${settings.cloudwatch_on_calendar})`,
      operation: timer({
        name: cloudwatchUnit,
        description: 'Send disk and memory use to CloudWatch',
        command: [cloudwatchScript],
        user: cloudwatchUser,
        onCalendar: settings.cloudwatch_on_calendar,
        randomizedDelaySec: 20,
      }),
    },
  ];
}

/** CloudWatch's API: the emulator's address in a lab, else HTTPS anywhere (the regional endpoint's addresses change). */
function egress(host: Host): EgressRule[] {
  const settings = roleVars(vars, host, 'cloudwatch');
  if (settings.cloudwatch_endpoint_url === undefined)
    return [
      { port: 443, to: 'anywhere', why: `CloudWatch's API (monitoring.${settings.cloudwatch_region}.amazonaws.com)` },
    ];
  const url = new URL(settings.cloudwatch_endpoint_url);
  return [
    {
      port: Number(url.port || (url.protocol === 'https:' ? '443' : '80')),
      to: endpoint(url.hostname),
      why: `CloudWatch's API (${url.host})`,
    },
  ];
}

/**
 * Disk and memory use to CloudWatch from every host that names cloudwatch_region, so the Terraform
 * disk alarms (a second path for alerts, outside the monitoring host) have data. A timer, not a
 * daemon: one put-metric-data a minute.
 */
export const cloudwatch: Role = {
  name: 'cloudwatch',
  egress,
  // The script, read before planning.
  inputs: () => ({ files: [cloudwatchScriptSource] }),
  tasks,
  handlers: {},
};
