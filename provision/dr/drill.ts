// Disaster drills under a constant write load through the API: the disaster happens to real
// containers (or hosts), and the report says what the clients saw (RTO), what was lost (RPO), and
// whether exactly one primary took writes afterwards (split brain).
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  describeMembers,
  isPrimary,
  isStreamingStandby,
  parseCluster,
  primaryOf,
  splitBrainCheck,
  type Cluster,
  type Member,
} from './cluster.js';
import { loadProgram } from './load.js';
import { measure, parseAttempts, type Attempt, type Measurement } from './measure.js';
import type { ClusterSpec, DrTarget } from './target.js';

export class DrillRefusedError extends Error {}

/** The cluster as the first node that answers sees it (the DCS's view), or undefined with why not. */
export async function readCluster(
  target: DrTarget,
  spec: ClusterSpec,
): Promise<{ cluster: Cluster | undefined; error: string }> {
  const errors: string[] = [];
  for (const node of spec.nodes) {
    const answer = await target.rest(node.name, 'GET', '/cluster');
    if (answer.status === 200) return { cluster: parseCluster(answer.body, `${target.name} ${node.name}`), error: '' };
    errors.push(`${node.name}: ${answer.status === 0 ? 'no answer' : `HTTP ${answer.status}`}`);
  }
  return { cluster: undefined, error: errors.join(', ') };
}

/** Polls until `ready` holds for the cluster, or throws after timeoutMs with the last state seen. */
export async function waitForCluster(
  target: DrTarget,
  spec: ClusterSpec,
  ready: (cluster: Cluster) => boolean,
  what: string,
  timeoutMs: number,
): Promise<Cluster> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const { cluster, error } = await readCluster(target, spec);
    if (cluster && ready(cluster)) return cluster;
    last = cluster ? describeMembers(cluster) : error;
    await sleep(1000);
  }
  throw new Error(
    `${target.name}: ${spec.scope}: ${what} did not happen within ${Math.round(timeoutMs / 1000)} s (last seen: ${last})`,
  );
}

/** Which nodes answer 200 on Patroni's /primary: what the API-side proxy would send writes to. */
export async function writableNodes(
  target: DrTarget,
  specs: readonly ClusterSpec[],
): Promise<{ node: string; primary: boolean }[]> {
  const nodes = specs.flatMap((spec) => spec.nodes.map((node) => node.name));
  return Promise.all(
    nodes.map(async (node) => ({ node, primary: (await target.rest(node, 'GET', '/primary')).status === 200 })),
  );
}

/**
 * Runs the write load, and the disaster once `warmupWrites` writes have committed; returns every
 * attempt and when the disaster began. The load ends by itself (bounded, or recovered).
 */
export async function underLoad(
  target: DrTarget,
  options: DrillOptions,
  step: (text: string) => void,
  what: string,
  disaster: () => Promise<unknown>,
): Promise<{ run: string; attempts: Attempt[]; disasterAt: number }> {
  const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const token = await target.adminToken();
  const attempts: Attempt[] = [];
  let successes = 0;
  let disasterAt = 0;
  let happening: Promise<unknown> | undefined;
  let failed: Error | undefined;
  step(
    `load: one write at a time through the API (POST /api/referees), every ${options.intervalMs} ms, at most ${options.maxWrites} writes / ${options.maxSeconds} s`,
  );
  const load = await target.runLoad(
    loadProgram({
      token,
      run,
      url: options.apiUrl,
      max: options.maxWrites,
      seconds: options.maxSeconds,
      intervalMs: options.intervalMs,
      recoveredStreak: options.recoveredStreak,
    }),
    (line) => {
      const [attempt] = parseAttempts(line);
      if (!attempt) return;
      attempts.push(attempt);
      if (attempt.ok) successes += 1;
      if (successes >= options.warmupWrites && disasterAt === 0) {
        disasterAt = Date.now();
        step(`disaster: ${what}, after ${successes} committed writes`);
        happening = disaster().catch((error: unknown) => {
          failed = error instanceof Error ? error : new Error(String(error));
        });
      }
    },
  );
  await happening;
  if (failed !== undefined) throw failed;
  if (disasterAt === 0)
    throw new Error(
      `${target.name}: the load never reached ${options.warmupWrites} committed writes (${attempts.length} attempts; last: ${JSON.stringify(attempts.at(-1))}; exit ${load.code}: ${load.stderr.trim().slice(-300)})`,
    );
  step(`load finished: ${attempts.length} attempts`);
  return { run, attempts, disasterAt };
}

/** Acknowledged writes of this run that `node` has. */
export async function presentOn(target: DrTarget, node: string, run: string): Promise<Set<string>> {
  const rows = await target.sql(node, `SELECT email FROM referee WHERE email LIKE 'drill-${run}-%'`);
  return new Set(rows === '' ? [] : rows.split('\n'));
}

export interface DrillReport {
  scenario: 'zone' | 'region' | 'failback';
  target: string;
  run: string;
  startedAt: string;
  finishedAt: string;
  replication: string;
  oldPrimary: string;
  newPrimary: string;
  measurement: Measurement;
  /** ms from starting the killed node again until it streams from the new primary (pg_rewind). */
  rejoinMs: number | undefined;
  /** Region scenarios: ms the operator's command took (promote-dr, failback), from its start. */
  commandMs?: number;
  splitBrain: { ok: boolean; primaries: string[] };
  targets: { rtoMs: number; lost: number };
  passed: boolean;
  steps: { at: string; step: string }[];
}

export interface DrillOptions {
  /** Successful writes before the disaster. */
  warmupWrites: number;
  /** Bounds of the load: writes and seconds. */
  maxWrites: number;
  maxSeconds: number;
  intervalMs: number;
  /** Consecutive successes after a failure that end the load. */
  recoveredStreak: number;
  /** The API as the load generator reaches it. */
  apiUrl: string;
  log: (line: string) => void;
}

export const defaultDrillOptions: Omit<DrillOptions, 'log'> = {
  warmupWrites: 15,
  maxWrites: 3000,
  maxSeconds: 120,
  intervalMs: 100,
  recoveredStreak: 20,
  apiUrl: 'http://127.0.0.1:3000',
};

function replicationMode(cluster: Cluster): string {
  return cluster.members.some((member) => member.role === 'sync_standby')
    ? 'synchronous (synchronous_mode: true, not strict)'
    : 'asynchronous (no synchronous standby at the start)';
}

/**
 * Scenario 1, a zone failure: the primary's container (or host) dies under load; Patroni promotes
 * the synchronous standby; the API-side proxy follows; then the old primary is started again and
 * must rejoin as a standby (pg_rewind).
 */
export async function zoneDrill(target: DrTarget, options: DrillOptions): Promise<DrillReport> {
  const steps: { at: string; step: string }[] = [];
  const step = (text: string) => {
    steps.push({ at: new Date().toISOString(), step: text });
    options.log(`dr drill: ${text}`);
  };
  const startedAt = new Date().toISOString();
  const spec = target.primaryRegion;
  const etcd = await target.etcdHealth(spec.etcd);
  const { cluster: before, error } = await readCluster(target, spec);
  if (!before)
    throw new DrillRefusedError(
      `${target.name}: Patroni does not answer (${error}): start the HA replica first (npm run stack -- --ha)`,
    );
  const oldPrimary = primaryOf(before);
  const standbys = before.members.filter((member) => !isPrimary(member) && isStreamingStandby(member));
  if (!oldPrimary || standbys.length === 0 || etcd.filter((member) => member.healthy).length < spec.etcd.length) {
    throw new DrillRefusedError(
      `${target.name}: the cluster is not healthy enough to drill (${describeMembers(before)}; etcd ${etcd.map((member) => `${member.member} ${member.healthy ? 'ok' : 'down'}`).join(', ')}): a drill starts from one primary, a streaming standby and every etcd member`,
    );
  }
  const replication = replicationMode(before);
  step(
    `start: primary ${oldPrimary.name}, standby ${standbys.map((member) => `${member.name} (${member.role})`).join(', ')}; replication ${replication}`,
  );

  const { run, attempts, disasterAt } = await underLoad(
    target,
    options,
    step,
    `killing ${oldPrimary.name} (SIGKILL, as a lost zone)`,
    () => target.kill([oldPrimary.name]),
  );

  const after = await waitForCluster(
    target,
    spec,
    (cluster) => primaryOf(cluster) !== undefined && primaryOf(cluster)?.name !== oldPrimary.name,
    'a new primary',
    90_000,
  );
  const newPrimary = primaryOf(after) as Member;
  step(`new primary: ${newPrimary.name}`);
  const measurement = measure(attempts, disasterAt, await presentOn(target, newPrimary.name, run));
  step(
    `measured: RTO ${measurement.rtoMs === undefined ? 'never' : `${(measurement.rtoMs / 1000).toFixed(1)} s`}, ${measurement.committed} committed, ${measurement.lost.length} lost`,
  );

  step(`rejoin: starting ${oldPrimary.name} again`);
  const rejoinStart = Date.now();
  await target.start([oldPrimary.name]);
  let rejoinMs: number | undefined;
  try {
    await waitForCluster(
      target,
      spec,
      (cluster) =>
        cluster.members.some(
          (member) => member.name === oldPrimary.name && isStreamingStandby(member) && !isPrimary(member),
        ),
      `${oldPrimary.name} streaming as a standby`,
      180_000,
    );
    rejoinMs = Date.now() - rejoinStart;
    step(`${oldPrimary.name} rejoined as a standby in ${(rejoinMs / 1000).toFixed(1)} s`);
  } catch (caught) {
    step(`${oldPrimary.name} did not rejoin: ${(caught as Error).message}`);
  }

  const splitBrain = splitBrainCheck(await writableNodes(target, [spec]));
  step(
    `split-brain check: ${splitBrain.ok ? `exactly one primary (${splitBrain.primaries.join('')})` : `${splitBrain.primaries.length} primaries (${splitBrain.primaries.join(', ') || 'none'})`}`,
  );
  const targets = { rtoMs: 30_000, lost: 0 };
  const passed =
    splitBrain.ok &&
    measurement.rtoMs !== undefined &&
    measurement.rtoMs <= targets.rtoMs &&
    measurement.lost.length <= targets.lost &&
    rejoinMs !== undefined;
  return {
    scenario: 'zone',
    target: target.name,
    run,
    startedAt,
    finishedAt: new Date().toISOString(),
    replication,
    oldPrimary: oldPrimary.name,
    newPrimary: newPrimary.name,
    measurement,
    rejoinMs,
    splitBrain,
    targets,
    passed,
    steps,
  };
}

export function formatReport(report: DrillReport): string {
  const m = report.measurement;
  const seconds = (ms: number | undefined) => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);
  return [
    `DR drill (${report.scenario}) on ${report.target}: ${report.passed ? 'PASSED' : 'FAILED'}`,
    `  replication            ${report.replication}`,
    `  primary                ${report.oldPrimary} -> ${report.newPrimary}`,
    `  RTO (writes resumed)   ${seconds(m.rtoMs)} (target ${seconds(report.targets.rtoMs)}); first failed write ${seconds(m.firstFailureMs)} after the disaster`,
    `  RPO (committed lost)   ${m.lost.length} of ${m.committed} committed${report.targets.lost >= 0 ? ` (target ${report.targets.lost})` : ''}${m.lost.length ? ` = the last ${seconds(m.lostWindowMs)} before the disaster: ${m.lost.slice(0, 3).join(', ')}` : ''}`,
    `  writes                 ${m.attempts} attempts, ${m.failed} failed, ${m.committedUnacknowledged} failed but committed anyway`,
    ...(report.scenario === 'zone'
      ? [`  old primary rejoined   ${seconds(report.rejoinMs)}`]
      : [`  operator command took  ${seconds(report.commandMs)}`]),
    `  split brain            ${report.splitBrain.ok ? 'none: exactly one primary' : `YES: ${report.splitBrain.primaries.length} primaries (${report.splitBrain.primaries.join(', ')})`}`,
    '  steps',
    ...report.steps.map((entry) => `    ${entry.at}  ${entry.step}`),
    '',
  ].join('\n');
}
