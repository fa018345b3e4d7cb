// High availability of the database, against the real Patroni pair, etcd and HAProxy
// (docker-compose.ha.yml) with the API writing through them: a switchover and the zone drill
// (kill the primary under write load: RTO, RPO, rejoin, split brain) through the operators' CLI
// (npm run dr -- replica …) and the runbooks' replica blocks; a failover refused while the
// primary is healthy, and nothing promoted when etcd loses its quorum. Prometheus scrapes Patroni
// and etcd throughout, and sees the primary move.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackupStack, CliResult } from '../support/backup-stack.js';
import { alertStates, drCli, promQuery, startHaStack, type Sample } from '../support/ha-stack.js';
import { repoRoot } from '../support/paths.js';
import { runBlocks, runbookBlocks } from '../support/runbook-commands.js';
import type { DrillReport } from '../../provision/dr/drill.js';

let stack: BackupStack;
let up = false;

function ok(result: CliResult, what: string): string {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stderr}\n${result.stdout}`);
  return result.stdout;
}

/** The HTTP status a request to Patroni's REST API gets from the proxy's container (the API's network); '000': no answer. */
async function statusFromProxy(curlArgs: string[]): Promise<string> {
  return (
    await stack
      .compose(['exec', '-T', 'db', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', ...curlArgs])
      .catch(() => ({ stdout: '000' }))
  ).stdout.trim();
}

/** The node that answers 200 on Patroni's /primary, asked from the proxy's container. */
async function primaries(): Promise<string[]> {
  const found: string[] = [];
  for (const node of ['db1', 'db2'])
    if ((await statusFromProxy(['-m', '3', `http://${node}:8008/primary`])) === '200') found.push(node);
  return found;
}

async function waitForOnePrimary(timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let seen: string[] = [];
  while (Date.now() < deadline) {
    seen = await primaries();
    if (seen.length === 1 && (await drCli(stack, ['status'])).stdout.match(/(replica|sync_standby) +streaming/))
      return seen[0] ?? '';
    await sleep(2000);
  }
  throw new Error(
    `not exactly one primary with a streaming standby after ${timeoutMs} ms: ${seen.join(', ') || 'none'}`,
  );
}

/** Each series' value by one of its labels. */
const byLabel = (samples: Sample[], label: string) =>
  Object.fromEntries(samples.map((sample) => [sample.labels[label] ?? '', sample.value]));

/**
 * Waits until Prometheus reports `primary` as the one Patroni primary (1, the other node 0) and
 * every etcd member with a leader; returns the last readings either way, for the assertions.
 */
async function waitForPrometheus(primary: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const expected = { patroni: { db1: primary === 'db1' ? 1 : 0, db2: primary === 'db2' ? 1 : 0 } };
  for (;;) {
    const reading = {
      patroni: byLabel(await promQuery(stack, 'patroni_primary{job="patroni"}'), 'name'),
      etcd: byLabel(await promQuery(stack, 'etcd_server_has_leader{job="etcd"}'), 'instance'),
      up: byLabel(await promQuery(stack, 'up{job=~"patroni|etcd"}'), 'instance'),
    };
    const settled =
      JSON.stringify(reading.patroni) === JSON.stringify(expected.patroni) &&
      Object.keys(reading.etcd).length === 3 &&
      Object.values(reading.etcd).every((value) => value === 1);
    if (settled || Date.now() > deadline) return { reading, expected: expected.patroni };
    await sleep(2000);
  }
}

describe('high availability (Patroni, etcd, HAProxy; npm run dr)', { timeout: 1_200_000 }, () => {
  before(async () => {
    stack = await startHaStack();
    up = true;
    await waitForOnePrimary(180_000);
  });

  after(async () => {
    if (!up) return;
    if (process.exitCode) console.error(await stack.logs());
    await stack.down();
  });

  it('when the pair is up, then status shows one primary, a synchronous standby streaming and etcd with quorum', async () => {
    const status = ok(await drCli(stack, ['status']), 'dr status');
    assert.match(status, /leader +running/, status);
    assert.match(status, /sync_standby +streaming/, status);
    assert.match(status, /etcd: quorum/, status);
    assert.match(status, /writes go to db[12]/, status);
  });

  it('when the pair is up, then Prometheus scrapes Patroni (primary 1, replica 0) and every etcd member (with a leader), and no HA alert is pending', async () => {
    const primary = await waitForOnePrimary(60_000);
    const started = Date.now();
    const { reading, expected } = await waitForPrometheus(primary, 90_000);
    console.log(`prometheus: the pair and etcd as expected after ${Date.now() - started} ms`);
    assert.deepEqual(reading.patroni, expected, JSON.stringify(reading));
    assert.deepEqual(reading.etcd, { 'etcd1:2381': 1, 'etcd2:2381': 1, 'etcd3:2381': 1 }, JSON.stringify(reading));
    assert.deepEqual(
      reading.up,
      { 'db1:8008': 1, 'db2:8008': 1, 'etcd1:2381': 1, 'etcd2:2381': 1, 'etcd3:2381': 1 },
      'the targets are the clusters that run (no DR member), all up',
    );
    // The rules read what is scraped: each is evaluated without error and none is pending or firing.
    const deadline = Date.now() + 60_000;
    let states = await alertStates(stack, 'database-ha');
    while (Object.values(states).some((state) => state !== 'inactive') && Date.now() < deadline) {
      console.log(`prometheus: database-ha not yet inactive: ${JSON.stringify(states)}`);
      await sleep(2000);
      states = await alertStates(stack, 'database-ha');
    }
    assert.ok(Object.keys(states).length > 0);
    assert.deepEqual(
      Object.entries(states).filter(([, state]) => state !== 'inactive'),
      [],
      JSON.stringify(states),
    );
  });

  it('when the switchover runbook is followed, then the standby becomes the primary and the old primary streams from it; the same POST without credentials gets 401 and changes nothing', async () => {
    const before = await waitForOnePrimary(60_000);
    const unauthenticated = await statusFromProxy([
      '-m',
      '10',
      '-X',
      'POST',
      '-H',
      'content-type: application/json',
      '--data',
      JSON.stringify({ leader: before }),
      `http://${before}:8008/switchover`,
    ]);
    assert.equal(unauthenticated, '401', "Patroni's REST API took an unauthenticated POST /switchover");
    assert.equal(await waitForOnePrimary(60_000), before);
    const blocks = runbookBlocks('switchover.md', 'replica');
    const out = await runBlocks([blocks.get('switchover') ?? ''], stack.env as Record<string, string>);
    assert.match(out, /switchover done/, out);
    assert.notEqual(await waitForOnePrimary(60_000), before);
  });

  it('when a failover is asked while the primary is healthy, then it is refused without confirmation, says why, and nothing changes', async () => {
    const before = await waitForOnePrimary(60_000);
    const standby = before === 'db1' ? 'db2' : 'db1';
    const result = await drCli(stack, ['failover', '--candidate', standby]);
    assert.equal(result.code, 3, `${result.stderr}\n${result.stdout}`);
    assert.match(result.stderr, new RegExp(`${before} is a healthy primary[\\s\\S]*switchover`));
    assert.deepEqual(await primaries(), [before]);
  });

  it('when the primary is killed under write load (the zone drill), then writes resume, no committed write is lost, the old primary rejoins and one primary remains', async () => {
    const result = await drCli(stack, ['drill']);
    const reportFile = /report: (\S+\.json)/.exec(result.stdout)?.[1];
    assert.ok(reportFile, `no report written (exit ${result.code})\n${result.stderr}\n${result.stdout}`);
    const report = JSON.parse(readFileSync(`${repoRoot}/${reportFile}`, 'utf8')) as DrillReport;
    console.log(result.stdout);
    assert.match(report.replication, /^synchronous/);
    assert.ok(report.measurement.rtoMs !== undefined, 'writes never resumed');
    assert.ok(report.measurement.committed > 15, `too few committed writes: ${report.measurement.committed}`);
    assert.deepEqual(report.measurement.lost, [], 'acknowledged writes missing on the new primary');
    assert.ok(report.rejoinMs !== undefined, `${report.oldPrimary} did not rejoin as a standby`);
    assert.deepEqual(report.splitBrain, { ok: true, primaries: [report.newPrimary] });
    assert.notEqual(report.newPrimary, report.oldPrimary);
    // Prometheus follows: the new primary reports 1, the old one (now a standby) 0.
    const { reading, expected } = await waitForPrometheus(report.newPrimary, 60_000);
    assert.deepEqual(reading.patroni, expected, JSON.stringify(reading));
  });

  it('when etcd loses its quorum, then no standby is promoted and the failover command refuses', async () => {
    const primary = await waitForOnePrimary(120_000);
    await stack.compose(['stop', 'etcd2', 'etcd3']);
    try {
      const refused = await drCli(stack, ['failover', '--yes']);
      assert.equal(refused.code, 3, `${refused.stderr}\n${refused.stdout}`);
      assert.match(refused.stderr, /etcd has no quorum[\s\S]*nothing is promoted/);
      // Longer than the leader key's ttl (20 s): had anything been promoted, it would be by now.
      const deadline = Date.now() + 35_000;
      while (Date.now() < deadline) {
        const now = await primaries();
        assert.ok(
          now.every((node) => node === primary),
          `promoted without etcd: ${now.join(', ')}`,
        );
        await sleep(2000);
      }
    } finally {
      await stack.compose(['start', 'etcd2', 'etcd3']);
    }
    await waitForOnePrimary(120_000);
  });
});
