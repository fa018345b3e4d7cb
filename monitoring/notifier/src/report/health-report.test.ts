import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectHealthReport, reportHtml, reportText, type HealthReport } from './health-report.js';
import type { PrometheusClient, Sample } from './prometheus-client.js';

/** Prometheus as the report queries it: answers by query text, empty for anything else. */
function prometheus(answers: Record<string, Sample[]>): PrometheusClient {
  const query = (promql: string) => Promise.resolve(answers[promql] ?? []);
  return {
    query,
    scalar: async (promql: string) => (await query(promql))[0]?.value ?? null,
  } as unknown as PrometheusClient;
}
const member = (name: string, value = 1, scope = 'refereezy'): Sample => ({ labels: { scope, name }, value });

describe('daily report: the database cluster', () => {
  it('when Patroni reports a primary and a synchronous standby, then the report lists each member with its role and lag, failovers and etcd', async () => {
    const report = await collectHealthReport(
      prometheus({
        'patroni_primary == 1': [member('db2')],
        'patroni_sync_standby == 1': [member('db1')],
        'patroni_replica == 1': [member('db1')],
        'patroni_standby_leader == 1': [member('db-dr1', 1, 'refereezy-dr')],
        patroni_postgres_running: [member('db1'), member('db2'), member('db-dr1', 1, 'refereezy-dr')],
        'max by (scope) (patroni_xlog_location) - on (scope) group_right () patroni_xlog_replayed_location': [
          member('db1', 0),
        ],
        'sum(changes(patroni_postgres_timeline[24h]))': [{ labels: {}, value: 1 }],
        'count(up{job="etcd"} == 1)': [{ labels: {}, value: 3 }],
        'count(up{job="etcd"})': [{ labels: {}, value: 3 }],
      }),
      'replica',
      new Date('2026-12-02T07:00:00Z'),
    );
    const text = reportText(report);
    assert.match(text, /refereezy\/db1 +synchronous standby, 0 bytes behind/);
    assert.match(text, /refereezy\/db2 +primary\n/);
    assert.match(text, /refereezy-dr\/db-dr1 +standby leader/);
    assert.match(text, /clusters with a primary +refereezy\n/);
    assert.match(text, /failovers \(24 h\) +1/);
    assert.match(text, /etcd members up +3 of 3/);
  });

  it('when there is no Patroni, then the report says the database is a single PostgreSQL', async () => {
    assert.match(
      reportText(await collectHealthReport(prometheus({}), 'replica')),
      /Patroni +not in use \(a single PostgreSQL\)/,
    );
  });
});

const report = (change: Partial<HealthReport>): HealthReport => ({
  environment: 'production',
  generatedAt: '2026-12-02T07:00:00.000Z',
  uptime: [{ job: 'api', ratio: 1 }],
  api: { requests: 1000, errorRatio: 0, p99Seconds: 0.12 },
  database: { up: true, connections: 12, deadlocks: 0 },
  disk: [],
  backupAgeHours: 6,
  backupWindowStart: new Date('2026-11-02T01:00:40Z'),
  verification: { ageDays: 2.5, passed: true },
  cluster: { members: [], failovers: null, etcdUp: null, etcdTotal: null },
  firingAlerts: [],
  ...change,
});
const line = (text: string, item: string) =>
  text
    .split('\n')
    .find((entry) => entry.trimStart().startsWith(item))
    ?.trim();

describe('daily health report: the backups section', () => {
  it('when the last verification passed, then its line says passed and how long ago, with the recoverable window and the last backup', () => {
    const text = reportText(report({}));
    assert.equal(line(text, 'last verification'), 'last verification            passed, 2.5 days ago');
    assert.equal(
      line(text, 'recoverable window'),
      'recoverable window           from 2026-11-02 01:00 UTC to now (30.2 days)',
    );
    assert.equal(line(text, 'last good backup'), 'last good backup             6.0 h ago');
    assert.match(
      reportHtml(report({})),
      /<td>Backups<\/td><td>last verification<\/td><td style="text-align:right">passed, 2\.5 days ago<\/td>/,
    );
  });

  it('when the last verification failed, then its line says FAILED in capitals', () => {
    assert.equal(
      line(reportText(report({ verification: { ageDays: 0.2, passed: false } })), 'last verification'),
      'last verification            FAILED, 0.2 days ago',
    );
  });

  it('when no verification or backup has reported, then the lines say so instead of a figure', () => {
    const text = reportText(
      report({ verification: { ageDays: null, passed: null }, backupWindowStart: null, backupAgeHours: null }),
    );
    assert.equal(line(text, 'last verification'), 'last verification            none reported');
    assert.equal(line(text, 'recoverable window'), 'recoverable window           none reported');
    assert.equal(line(text, 'last good backup'), 'last good backup             no backup reported');
  });
});
