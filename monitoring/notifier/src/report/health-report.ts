import type { PrometheusClient } from './prometheus-client.js';

export interface HealthReport {
  environment: string;
  generatedAt: string;
  /** Share of scrapes that found each job up over the last 24 h. */
  uptime: { job: string; ratio: number }[];
  api: { requests: number | null; errorRatio: number | null; p99Seconds: number | null };
  database: { up: boolean; connections: number | null; deadlocks: number | null };
  /** The fullest filesystem's free share, per instance. */
  disk: { instance: string; freeRatio: number }[];
  /** Hours since the last good backup; null when no backup has reported yet. */
  backupAgeHours: number | null;
  /** The recoverable window's start that every repo covers (the end of its oldest complete backup); null when none has reported. */
  backupWindowStart: Date | null;
  /** The weekly backup verification: its age in days and whether it passed; null when none has reported. */
  verification: { ageDays: number | null; passed: boolean | null };
  firingAlerts: { alertname: string; severity: string; instance: string }[];
  /**
   * The Patroni clusters (the HA database): each member's role now, its replay lag behind its
   * primary, and the timeline changes (failovers) of the last 24 h; etcd members up. Empty members:
   * no Patroni (a single PostgreSQL).
   */
  cluster: {
    members: { scope: string; name: string; role: string; lagBytes: number | null }[];
    failovers: number | null;
    etcdUp: number | null;
    etcdTotal: number | null;
  };
}

/** A member's role from Patroni's gauges (1 on the member that holds it). */
const patroniRoles = [
  ['patroni_primary', 'primary'],
  ['patroni_standby_leader', 'standby leader'],
  ['patroni_sync_standby', 'synchronous standby'],
  ['patroni_replica', 'standby'],
] as const;

async function collectCluster(prometheus: PrometheusClient): Promise<HealthReport['cluster']> {
  const [roleSamples, running, lag, failovers, etcdUp, etcdTotal] = await Promise.all([
    Promise.all(patroniRoles.map(([metric]) => prometheus.query(`${metric} == 1`))),
    prometheus.query('patroni_postgres_running'),
    prometheus.query(
      'max by (scope) (patroni_xlog_location) - on (scope) group_right () patroni_xlog_replayed_location',
    ),
    prometheus.scalar('sum(changes(patroni_postgres_timeline[24h]))'),
    prometheus.scalar('count(up{job="etcd"} == 1)'),
    prometheus.scalar('count(up{job="etcd"})'),
  ]);
  const key = (labels: Record<string, string>) => `${labels['scope'] ?? '?'}/${labels['name'] ?? '?'}`;
  const members = running.map((sample) => {
    const found = patroniRoles.findIndex((_, index) =>
      (roleSamples[index] ?? []).some((role) => key(role.labels) === key(sample.labels)),
    );
    const role = sample.value === 0 ? 'PostgreSQL NOT RUNNING' : (patroniRoles[found]?.[1] ?? 'unknown');
    const lagSample = lag.find((entry) => key(entry.labels) === key(sample.labels));
    return {
      scope: sample.labels['scope'] ?? '?',
      name: sample.labels['name'] ?? '?',
      role,
      lagBytes: lagSample ? lagSample.value : null,
    };
  });
  return {
    members: members.sort((a, b) => `${a.scope}/${a.name}`.localeCompare(`${b.scope}/${b.name}`)),
    failovers,
    etcdUp,
    etcdTotal,
  };
}

/** Reads the last 24 hours of the platform from Prometheus. */
export async function collectHealthReport(
  prometheus: PrometheusClient,
  environment: string,
  now = new Date(),
): Promise<HealthReport> {
  const cluster = await collectCluster(prometheus);
  const [
    uptime,
    requests,
    errorRatio,
    p99Seconds,
    pgUp,
    connections,
    deadlocks,
    disk,
    backupAge,
    windowStart,
    verifyAge,
    verifyPassed,
    alerts,
  ] = await Promise.all([
    prometheus.query('avg by (job) (avg_over_time(up[24h]))'),
    prometheus.scalar('sum(increase(http_requests_total{service="refereezy-api"}[24h]))'),
    // "or vector(0)": no 5xx series at all means a rate of 0, not "no data".
    prometheus.scalar(
      '(sum(increase(http_requests_total{service="refereezy-api",status_code=~"5.."}[24h])) or vector(0)) / sum(increase(http_requests_total{service="refereezy-api"}[24h]))',
    ),
    prometheus.scalar(
      'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="refereezy-api"}[24h])))',
    ),
    prometheus.scalar('min(pg_up)'),
    prometheus.scalar('sum(pg_stat_database_numbackends)'),
    prometheus.scalar('sum(increase(pg_stat_database_deadlocks[24h]))'),
    prometheus.query(
      'min by (instance) (node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|ramfs"})',
    ),
    // The repo whose latest backup is oldest: every repo must be current.
    prometheus.scalar('(time() - min(refereezy_backup_last_success_timestamp_seconds)) / 3600'),
    // The window every repo can restore: the latest of their starts.
    prometheus.scalar('max(refereezy_backup_window_start_timestamp_seconds)'),
    prometheus.scalar('(time() - max(refereezy_backup_verify_last_run_timestamp_seconds)) / 86400'),
    prometheus.scalar('min(refereezy_backup_verify_success)'),
    prometheus.query('ALERTS{alertstate="firing",alertname!="Watchdog"}'),
  ]);
  return {
    environment,
    generatedAt: now.toISOString(),
    uptime: uptime
      .map((sample) => ({ job: sample.labels['job'] ?? '?', ratio: sample.value }))
      .sort((a, b) => a.job.localeCompare(b.job)),
    api: { requests, errorRatio, p99Seconds },
    database: { up: pgUp === 1, connections, deadlocks },
    disk: disk.map((sample) => ({ instance: sample.labels['instance'] ?? '?', freeRatio: sample.value })),
    backupAgeHours: backupAge,
    backupWindowStart: windowStart === null ? null : new Date(windowStart * 1000),
    verification: { ageDays: verifyAge, passed: verifyPassed === null ? null : verifyPassed === 1 },
    cluster,
    firingAlerts: alerts.map((sample) => ({
      alertname: sample.labels['alertname'] ?? '?',
      severity: sample.labels['severity'] ?? '',
      instance: sample.labels['instance'] ?? sample.labels['service'] ?? '',
    })),
  };
}

const percent = (ratio: number | null, digits = 2) => (ratio === null ? 'n/a' : `${(ratio * 100).toFixed(digits)} %`);
const number = (value: number | null, unit = '') =>
  value === null ? 'n/a' : `${Math.round(value).toLocaleString('en')}${unit}`;
const escape = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

function clusterRows(cluster: HealthReport['cluster']): [string, string, string][] {
  if (cluster.members.length === 0) return [['Database cluster', 'Patroni', 'not in use (a single PostgreSQL)']];
  const primaries = new Set(
    cluster.members.filter((member) => member.role === 'primary').map((member) => member.scope),
  );
  return [
    ...cluster.members.map(({ scope, name, role, lagBytes }): [string, string, string] => [
      'Database cluster',
      `${scope}/${name}`,
      `${role}${lagBytes !== null && role !== 'primary' ? `, ${number(lagBytes)} bytes behind` : ''}`,
    ]),
    ['Database cluster', 'clusters with a primary', primaries.size ? [...primaries].join(', ') : 'NONE'],
    ['Database cluster', 'failovers (24 h)', number(cluster.failovers)],
    [
      'Database cluster',
      'etcd members up',
      cluster.etcdTotal === null ? 'n/a' : `${number(cluster.etcdUp ?? 0)} of ${number(cluster.etcdTotal)}`,
    ],
  ];
}

const backupWindow = (report: HealthReport) => {
  const start = report.backupWindowStart;
  if (start === null) return 'none reported';
  const days = (Date.parse(report.generatedAt) - start.getTime()) / 86_400_000;
  return `from ${start.toISOString().slice(0, 16).replace('T', ' ')} UTC to now (${days.toFixed(1)} days)`;
};

/** The report as rows of (section, item, value), shared by the text and the HTML renderings. */
function rows(report: HealthReport): [string, string, string][] {
  return [
    ...report.uptime.map(({ job, ratio }): [string, string, string] => ['Uptime (24 h)', job, percent(ratio, 3)]),
    ['API', 'requests (24 h)', number(report.api.requests)],
    ['API', 'error rate (5xx)', percent(report.api.errorRatio)],
    ['API', 'p99 latency', report.api.p99Seconds === null ? 'n/a' : `${(report.api.p99Seconds * 1000).toFixed(0)} ms`],
    ['Database', 'PostgreSQL', report.database.up ? 'up' : 'DOWN'],
    ['Database', 'connections', number(report.database.connections)],
    ['Database', 'deadlocks (24 h)', number(report.database.deadlocks)],
    ...report.disk.map(({ instance, freeRatio }): [string, string, string] => [
      'Disk',
      `free on ${instance}`,
      percent(freeRatio, 1),
    ]),
    ...clusterRows(report.cluster),
    [
      'Backups',
      'last good backup',
      report.backupAgeHours === null ? 'no backup reported' : `${report.backupAgeHours.toFixed(1)} h ago`,
    ],
    ['Backups', 'recoverable window', backupWindow(report)],
    [
      'Backups',
      'last verification',
      report.verification.ageDays === null
        ? 'none reported'
        : `${report.verification.passed ? 'passed' : 'FAILED'}, ${report.verification.ageDays.toFixed(1)} days ago`,
    ],
  ];
}

export function reportSubject(report: HealthReport): string {
  const firing = report.firingAlerts.length;
  return `[Refereezy ${report.environment}] Daily health report ${report.generatedAt.slice(0, 10)}: ${firing === 0 ? 'no alert firing' : `${firing} alert${firing > 1 ? 's' : ''} firing`}`;
}

export function reportText(report: HealthReport): string {
  const lines = [`Refereezy ${report.environment} — health over the last 24 hours (${report.generatedAt})`, ''];
  let section = '';
  for (const [name, item, value] of rows(report)) {
    if (name !== section) lines.push('', name);
    section = name;
    lines.push(`  ${item.padEnd(28)} ${value}`);
  }
  lines.push('', 'Firing alerts');
  lines.push(
    ...(report.firingAlerts.length
      ? report.firingAlerts.map((a) => `  ${a.severity.padEnd(9)} ${a.alertname} ${a.instance}`)
      : ['  none']),
  );
  return `${lines.join('\n')}\n`;
}

export function reportHtml(report: HealthReport): string {
  const body = rows(report)
    .map(
      ([section, item, value]) =>
        `<tr><td>${escape(section)}</td><td>${escape(item)}</td><td style="text-align:right">${escape(value)}</td></tr>`,
    )
    .join('\n');
  const alerts = report.firingAlerts.length
    ? `<ul>${report.firingAlerts.map((a) => `<li><b>${escape(a.severity)}</b> ${escape(a.alertname)} ${escape(a.instance)}</li>`).join('')}</ul>`
    : '<p>None.</p>';
  return `<!doctype html><html><body style="font-family:sans-serif">
<h1>Refereezy ${escape(report.environment)}: daily health report</h1>
<p>The last 24 hours, as of ${escape(report.generatedAt)}.</p>
<table border="1" cellpadding="4" cellspacing="0"><thead><tr><th>Area</th><th>Measure</th><th>Value</th></tr></thead>
<tbody>
${body}
</tbody></table>
<h2>Firing alerts</h2>
${alerts}
</body></html>`;
}
