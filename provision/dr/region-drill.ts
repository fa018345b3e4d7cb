// Drill scenarios 2 and 3: lose the whole primary region under write load and promote the DR
// region (promote-dr, as the operator would), then fail back. Same measurements as the zone drill.
import { setTimeout as sleep } from 'node:timers/promises';
import { describeMembers, primaryOf, splitBrainCheck } from './cluster.js';
import {
  DrillRefusedError,
  presentOn,
  readCluster,
  underLoad,
  waitForCluster,
  writableNodes,
  type DrillOptions,
  type DrillReport,
} from './drill.js';
import { measure } from './measure.js';
import { failback, promoteDr } from './regions.js';
import type { DrTarget } from './target.js';

const yes = () => Promise.resolve(true);

function stepper(options: DrillOptions) {
  const steps: { at: string; step: string }[] = [];
  const step = (text: string) => {
    steps.push({ at: new Date().toISOString(), step: text });
    options.log(`dr drill: ${text}`);
  };
  return { steps, step };
}

export async function regionDrill(target: DrTarget, options: DrillOptions): Promise<DrillReport> {
  const dr = target.drRegion;
  if (!dr) throw new DrillRefusedError(`${target.name} has no DR region`);
  const { steps, step } = stepper(options);
  const startedAt = new Date().toISOString();
  const main = target.primaryRegion;
  const [{ cluster: mainCluster }, { cluster: drCluster }] = await Promise.all([
    readCluster(target, main),
    readCluster(target, dr),
  ]);
  const oldPrimary = mainCluster && primaryOf(mainCluster);
  const standbyLeader = drCluster?.members.find(
    (member) => member.role === 'standby_leader' && member.state === 'streaming',
  );
  if (!oldPrimary || !standbyLeader)
    throw new DrillRefusedError(
      `${target.name}: a region drill starts from a primary in ${main.region} and a streaming standby leader in ${dr.region} (now: ${mainCluster ? describeMembers(mainCluster) : 'no answer'} / ${drCluster ? describeMembers(drCluster) : 'no answer'}); start it with npm run stack -- --ha --dr`,
    );
  // The proxy must know the DR node, or promote-dr could not send writes there.
  await target.proxyState(standbyLeader.name, 'ready');
  step(
    `start: primary ${oldPrimary.name} (${main.region}), standby leader ${standbyLeader.name} (${dr.region}, asynchronous)`,
  );
  let commandMs = 0;
  const lost = [...main.nodes.map((node) => node.name), ...main.etcd];
  const { run, attempts, disasterAt } = await underLoad(
    target,
    options,
    step,
    `killing all of ${main.region} (${lost.join(', ')}), then promote-dr`,
    async () => {
      await target.kill(lost);
      const started = Date.now();
      const said = await promoteDr(target, true, yes, (line) => step(line));
      commandMs = Date.now() - started;
      step(said.trim());
    },
  );
  const after = await waitForCluster(
    target,
    dr,
    (cluster) => primaryOf(cluster) !== undefined,
    `a primary in ${dr.region}`,
    60_000,
  );
  const newPrimary = primaryOf(after)?.name ?? '';
  const measurement = measure(attempts, disasterAt, await presentOn(target, newPrimary, run));
  const splitBrain = splitBrainCheck(await writableNodes(target, [main, dr]));
  const targets = { rtoMs: 300_000, lost: Number.POSITIVE_INFINITY };
  step(
    `measured: RTO ${measurement.rtoMs === undefined ? 'never' : `${(measurement.rtoMs / 1000).toFixed(1)} s`} (promote-dr took ${(commandMs / 1000).toFixed(1)} s), ${measurement.lost.length} of ${measurement.committed} committed writes lost`,
  );
  const passed = splitBrain.ok && measurement.rtoMs !== undefined && measurement.rtoMs <= targets.rtoMs;
  return {
    scenario: 'region',
    target: target.name,
    run,
    startedAt,
    finishedAt: new Date().toISOString(),
    replication: 'asynchronous across regions (standby cluster)',
    oldPrimary: oldPrimary.name,
    newPrimary,
    measurement,
    rejoinMs: undefined,
    commandMs,
    splitBrain,
    targets: { rtoMs: targets.rtoMs, lost: -1 },
    passed,
    steps,
  };
}

export async function failbackDrill(target: DrTarget, options: DrillOptions): Promise<DrillReport> {
  const dr = target.drRegion;
  if (!dr) throw new DrillRefusedError(`${target.name} has no DR region`);
  const { steps, step } = stepper(options);
  const startedAt = new Date().toISOString();
  const main = target.primaryRegion;
  const { cluster: drCluster } = await readCluster(target, dr);
  const drPrimary = drCluster && primaryOf(drCluster);
  if (!drPrimary)
    throw new DrillRefusedError(
      `${target.name}: failback starts from a primary in ${dr.region} (after the region drill or promote-dr)`,
    );
  step(`start: primary ${drPrimary.name} (${dr.region}); starting ${main.region} again`);
  await target.start([...main.etcd, ...main.nodes.map((node) => node.name)]);
  // Patroni needs its etcd back before it answers /cluster.
  for (let i = 0; i < 60 && !(await readCluster(target, main)).cluster; i++) await sleep(2000);
  let commandMs = 0;
  const { run, attempts, disasterAt } = await underLoad(
    target,
    options,
    step,
    'failback (fence the DR region, promote the primary region)',
    async () => {
      const started = Date.now();
      const said = await failback(target, true, yes, (line) => step(line));
      commandMs = Date.now() - started;
      step(said.trim());
    },
  );
  const after = await waitForCluster(
    target,
    main,
    (cluster) => primaryOf(cluster) !== undefined,
    `a primary in ${main.region}`,
    60_000,
  );
  const newPrimary = primaryOf(after)?.name ?? '';
  const measurement = measure(attempts, disasterAt, await presentOn(target, newPrimary, run));
  const splitBrain = splitBrainCheck(await writableNodes(target, [main, dr]));
  const targets = { rtoMs: 300_000, lost: 0 };
  const passed =
    splitBrain.ok &&
    measurement.rtoMs !== undefined &&
    measurement.rtoMs <= targets.rtoMs &&
    measurement.lost.length === 0;
  return {
    scenario: 'failback',
    target: target.name,
    run,
    startedAt,
    finishedAt: new Date().toISOString(),
    replication: 'asynchronous across regions (standby cluster)',
    oldPrimary: drPrimary.name,
    newPrimary,
    measurement,
    rejoinMs: undefined,
    commandMs,
    splitBrain,
    targets,
    passed,
    steps,
  };
}
