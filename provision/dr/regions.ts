// The cross-region commands. The DR region (eu-central-1) is a Patroni standby cluster: its leader
// ("standby leader") streams from the primary region and takes no writes. promote-dr makes it the
// primary region, deliberately (never automatic across regions), and fences the old one first so
// two primaries can never both take writes; failback does the same the other way once the old
// region streams from the DR region again.
import { describeMembers, isPrimary, primaryOf, splitBrainCheck, type Cluster } from './cluster.js';
import type { Confirm } from './commands.js';
import { readCluster, waitForCluster, writableNodes } from './drill.js';
import { RefusedError, UsageError } from './options.js';
import type { ClusterSpec, DrTarget } from './target.js';

const standbyLeaderOf = (cluster: Cluster) => cluster.members.find((member) => member.role === 'standby_leader');

/** The standby_cluster section that makes `spec` follow `source` (Patroni's dynamic configuration). */
export function standbyClusterConfig(source: string): {
  standby_cluster: { host: string; port: number; create_replica_methods: string[] };
} {
  return { standby_cluster: { host: source, port: 5432, create_replica_methods: ['basebackup'] } };
}

async function patchConfig(target: DrTarget, spec: ClusterSpec, body: unknown, what: string): Promise<void> {
  const errors: string[] = [];
  for (const node of spec.nodes) {
    const answer = await target.rest(node.name, 'PATCH', '/config', body);
    if (answer.status === 200) return;
    errors.push(
      `${node.name}: ${answer.status === 0 ? 'no answer' : `HTTP ${answer.status} ${answer.body.trim().slice(0, 200)}`}`,
    );
  }
  throw new Error(`${target.name}: ${what} failed on every node of ${spec.scope} (${errors.join('; ')})`);
}

/**
 * Fences a region: first the API-side proxy stops sending it connections (effective at once, even
 * when the region is unreachable), then, when its Patroni answers, it is turned into a standby
 * cluster of `follow`, so its leader demotes itself and stays read-only after any restart.
 */
async function fence(
  target: DrTarget,
  spec: ClusterSpec,
  follow: string,
  log: (line: string) => void,
): Promise<'demoted' | 'proxy-only'> {
  for (const node of spec.nodes) await target.proxyState(node.name, 'maint');
  log(`fence: the db proxy sends nothing to ${spec.nodes.map((node) => node.name).join(', ')} any more`);
  const { cluster } = await readCluster(target, spec);
  if (!cluster) {
    log(
      `fence: ${spec.region} does not answer: fenced at the proxy only; before it is used again it must follow ${follow} (failback)`,
    );
    return 'proxy-only';
  }
  await patchConfig(target, spec, standbyClusterConfig(follow), `making ${spec.scope} a standby cluster of ${follow}`);
  await waitForCluster(
    target,
    spec,
    (now) => !now.members.some(isPrimary),
    `${spec.scope} without a primary (demoted)`,
    90_000,
  );
  log(`fence: ${spec.scope} is a standby cluster now (its leader demoted, read-only)`);
  return 'demoted';
}

async function promote(target: DrTarget, spec: ClusterSpec, log: (line: string) => void): Promise<string> {
  await patchConfig(target, spec, { standby_cluster: null }, `promoting ${spec.scope}`);
  const cluster = await waitForCluster(
    target,
    spec,
    (now) => primaryOf(now) !== undefined,
    `a primary in ${spec.scope}`,
    120_000,
  );
  const primary = primaryOf(cluster)?.name ?? '';
  for (const node of spec.nodes) await target.proxyState(node.name, 'ready');
  log(`promoted: ${primary} (${spec.region}) is the primary; the db proxy sends writes there`);
  return primary;
}

export async function promoteDr(
  target: DrTarget,
  yes: boolean,
  confirm: Confirm,
  log: (line: string) => void,
): Promise<string> {
  const dr = target.drRegion;
  if (!dr) throw new UsageError(`${target.name} has no DR region`);
  const { cluster: drCluster, error } = await readCluster(target, dr);
  if (!drCluster)
    throw new RefusedError(
      `${target.name}: the DR region (${dr.scope}) does not answer (${error}): nothing to promote. Nothing was done.`,
    );
  if (primaryOf(drCluster))
    throw new RefusedError(
      `${target.name}: ${dr.scope} already has a primary (${describeMembers(drCluster)}). Nothing was done.`,
    );
  const standbyLeader = standbyLeaderOf(drCluster);
  if (!standbyLeader)
    throw new RefusedError(
      `${target.name}: ${dr.scope} has no standby leader running (${describeMembers(drCluster)}). Nothing was done.`,
    );
  const primaryEtcd = await target.etcdHealth(target.primaryRegion.etcd);
  const { cluster: main } = await readCluster(target, target.primaryRegion);
  const mainPrimary = main && primaryOf(main);
  if (mainPrimary) {
    const risk = `${mainPrimary.name} in ${target.primaryRegion.region} is a healthy primary (etcd ${primaryEtcd.filter((member) => member.healthy).length}/${primaryEtcd.length} healthy). Promoting ${dr.region} moves every write there: ${target.primaryRegion.region} is fenced (demoted to a standby cluster), in-flight transactions are cut, and writes not yet streamed to ${standbyLeader.name} (lag ${String(standbyLeader.lag ?? 'unknown')}) are lost. For a region that works, prefer staying put.`;
    if (!yes && !(await confirm(`${risk}\nPromote ${dr.region} anyway? Type yes: `)))
      throw new RefusedError(
        `${target.name}: promote-dr not confirmed (answer yes, or pass --yes): nothing was done.\n${risk}`,
      );
  }
  const fenced = await fence(target, target.primaryRegion, standbyLeader.name, log);
  const primary = await promote(target, dr, log);
  const split = splitBrainCheck(await writableNodes(target, [target.primaryRegion, dr]));
  if (!split.ok)
    throw new Error(
      `${target.name}: after promote-dr ${split.primaries.length} nodes answer as primary (${split.primaries.join(', ') || 'none'}): fence by hand (docs/runbooks/region-failover.md)`,
    );
  return `promote-dr done: ${primary} (${dr.region}) takes the writes; ${target.primaryRegion.region} ${fenced === 'demoted' ? 'is a standby cluster of it' : 'is fenced at the proxy (unreachable): convert it with failback when it returns'}\n`;
}

/**
 * Back to the primary region: it must answer and stream from the DR region first (a standby
 * cluster caught up); then the DR region is fenced (demoted to follow the primary region's
 * standby leader) and the primary region promoted.
 */
export async function failback(
  target: DrTarget,
  yes: boolean,
  confirm: Confirm,
  log: (line: string) => void,
): Promise<string> {
  const dr = target.drRegion;
  if (!dr) throw new UsageError(`${target.name} has no DR region`);
  const main = target.primaryRegion;
  const { cluster: drCluster } = await readCluster(target, dr);
  const drPrimary = drCluster && primaryOf(drCluster);
  if (!drPrimary)
    throw new RefusedError(
      `${target.name}: ${dr.scope} is not the primary region (${drCluster ? describeMembers(drCluster) : 'no answer'}): nothing to fail back from. Nothing was done.`,
    );
  let { cluster: mainCluster } = await readCluster(target, main);
  if (!mainCluster)
    throw new RefusedError(
      `${target.name}: ${main.scope} does not answer: start it first (docs/runbooks/region-failover.md). Nothing was done.`,
    );
  if (mainCluster.members.some(isPrimary)) {
    // Fenced only at the proxy while it was unreachable: it must follow the DR region before anything.
    log(
      `failback: ${main.scope} came back with a primary of its own (kept out by the proxy): making it a standby cluster of ${drPrimary.name}`,
    );
    await patchConfig(
      target,
      main,
      standbyClusterConfig(drPrimary.name),
      `making ${main.scope} a standby cluster of ${drPrimary.name}`,
    );
  }
  mainCluster = await waitForCluster(
    target,
    main,
    (now) =>
      now.members.some(
        (member) => member.role === 'standby_leader' && (member.state === 'streaming' || member.state === 'running'),
      ),
    `${main.scope}'s standby leader streaming from ${drPrimary.name}`,
    300_000,
  );
  const standbyLeader = standbyLeaderOf(mainCluster);
  if (
    !yes &&
    !(await confirm(
      `Fail back: ${dr.region} (${drPrimary.name}) is fenced and ${main.region} (${standbyLeader?.name ?? '?'}) promoted; writes pause meanwhile. Type yes: `,
    ))
  ) {
    throw new RefusedError(`${target.name}: failback not confirmed (answer yes, or pass --yes): nothing was done`);
  }
  const fenced = await fence(target, dr, standbyLeader?.name ?? main.nodes[0]?.name ?? '', log);
  const primary = await promote(target, main, log);
  const split = splitBrainCheck(await writableNodes(target, [main, dr]));
  if (!split.ok)
    throw new Error(
      `${target.name}: after failback ${split.primaries.length} nodes answer as primary (${split.primaries.join(', ') || 'none'})`,
    );
  return `failback done: ${primary} (${main.region}) takes the writes; ${dr.region} ${fenced === 'demoted' ? 'streams from it again (standby cluster)' : 'is fenced at the proxy'}\n`;
}
