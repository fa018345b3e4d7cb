import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reportHtml, reportText, type HealthReport } from './health-report.js';

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
  firingAlerts: [],
  ...change,
});
const line = (text: string, item: string) => text.split('\n').find((entry) => entry.trimStart().startsWith(item))?.trim();

describe('daily health report: the backups section', () => {
  it('when the last verification passed, then its line says passed and how long ago, with the recoverable window and the last backup', () => {
    const text = reportText(report({}));
    assert.equal(line(text, 'last verification'), 'last verification            passed, 2.5 days ago');
    assert.equal(line(text, 'recoverable window'), 'recoverable window           from 2026-11-02 01:00 UTC to now (30.2 days)');
    assert.equal(line(text, 'last good backup'), 'last good backup             6.0 h ago');
    assert.match(reportHtml(report({})), /<td>Backups<\/td><td>last verification<\/td><td style="text-align:right">passed, 2\.5 days ago<\/td>/);
  });

  it('when the last verification failed, then its line says FAILED in capitals', () => {
    assert.equal(line(reportText(report({ verification: { ageDays: 0.2, passed: false } })), 'last verification'), 'last verification            FAILED, 0.2 days ago');
  });

  it('when no verification or backup has reported, then the lines say so instead of a figure', () => {
    const text = reportText(report({ verification: { ageDays: null, passed: null }, backupWindowStart: null, backupAgeHours: null }));
    assert.equal(line(text, 'last verification'), 'last verification            none reported');
    assert.equal(line(text, 'recoverable window'), 'recoverable window           none reported');
    assert.equal(line(text, 'last good backup'), 'last good backup             no backup reported');
  });
});
