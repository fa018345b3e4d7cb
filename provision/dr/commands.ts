// The operator's commands on a target: status, switchover (planned), failover (unplanned),
// promote-dr and failback (the regions). Patroni does the work through its REST API; these check
// first, say what they will do, and wait until the cluster shows it done.
import {
  decideFailover,
  describeMembers,
  formatStatus,
  hasQuorum,
  isPrimary,
  isStreamingStandby,
  primaryOf,
  splitBrainCheck,
} from './cluster.js';
import { readCluster, waitForCluster, writableNodes } from './drill.js';
import { RefusedError, UsageError } from './options.js';
import type { ClusterSpec, DrTarget } from './target.js';

export type Confirm = (question: string) => Promise<boolean>;

export async function status(target: DrTarget): Promise<string> {
  const parts: string[] = [];
  for (const spec of [target.primaryRegion, ...(target.drRegion ? [target.drRegion] : [])]) {
    const [{ cluster, error }, etcd] = await Promise.all([readCluster(target, spec), target.etcdHealth(spec.etcd)]);
    parts.push(`${spec.region} — ${formatStatus(spec.scope, cluster, etcd, error)}`);
  }
  const split = splitBrainCheck(
    await writableNodes(target, [target.primaryRegion, ...(target.drRegion ? [target.drRegion] : [])]),
  );
  parts.push(
    split.ok
      ? `writes go to ${split.primaries.join('')}\n`
      : split.primaries.length === 0
        ? 'NO node takes writes\n'
        : `SPLIT BRAIN: ${split.primaries.join(', ')} all answer as primary\n`,
  );
  return parts.join('');
}

async function mustReadCluster(target: DrTarget, spec: ClusterSpec) {
  const { cluster, error } = await readCluster(target, spec);
  if (!cluster)
    throw new RefusedError(`${target.name}: no Patroni member of ${spec.scope} answers (${error}); nothing was done`);
  return cluster;
}

/** Planned: Patroni waits for the candidate to catch up, demotes the primary, promotes the candidate. */
export async function switchover(target: DrTarget, candidate: string | undefined): Promise<string> {
  const spec = target.primaryRegion;
  const etcd = await target.etcdHealth(spec.etcd);
  if (!hasQuorum(etcd))
    throw new RefusedError(`${target.name}: etcd has no quorum: a switchover cannot be recorded; nothing was done`);
  const cluster = await mustReadCluster(target, spec);
  const primary = primaryOf(cluster);
  if (!primary)
    throw new RefusedError(
      `${target.name}: there is no primary to hand over from (${describeMembers(cluster)}): this is a failover (npm run dr -- ${target.name} failover)`,
    );
  const standbys = cluster.members.filter((member) => !isPrimary(member) && isStreamingStandby(member));
  const chosen = candidate ?? (standbys.find((member) => member.role === 'sync_standby') ?? standbys[0])?.name;
  if (!chosen || !standbys.some((member) => member.name === chosen)) {
    throw new RefusedError(
      `${target.name}: ${chosen ?? 'no node'} is not a streaming standby (${describeMembers(cluster)}); nothing was done`,
    );
  }
  const answer = await target.rest(primary.name, 'POST', '/switchover', { leader: primary.name, candidate: chosen });
  if (answer.status !== 200)
    throw new Error(
      `${target.name}: ${primary.name} refused the switchover to ${chosen}: HTTP ${answer.status} ${answer.body.trim()}`,
    );
  await waitForCluster(target, spec, (now) => primaryOf(now)?.name === chosen, `${chosen} as primary`, 60_000);
  const after = await waitForCluster(
    target,
    spec,
    (now) =>
      now.members.some((member) => member.name === primary.name && isStreamingStandby(member) && !isPrimary(member)),
    `${primary.name} streaming as a standby`,
    120_000,
  );
  return `switchover done: ${primary.name} -> ${chosen} (${describeMembers(after)})\n`;
}

/** Unplanned: promote a standby now. Never without quorum; asks when the primary is healthy. */
export async function failover(
  target: DrTarget,
  candidate: string | undefined,
  yes: boolean,
  confirm: Confirm,
): Promise<string> {
  const spec = target.primaryRegion;
  const etcd = await target.etcdHealth(spec.etcd);
  const { cluster } = await readCluster(target, spec);
  const decision = decideFailover(cluster ?? { members: [] }, etcd, candidate);
  if (decision.kind === 'refuse')
    throw new RefusedError(`${target.name}: failover refused: ${decision.reason}. Nothing was done.`);
  if (
    decision.kind === 'confirm' &&
    !yes &&
    !(await confirm(`${decision.risk}\nPromote ${decision.candidate} anyway? Type yes: `))
  ) {
    throw new RefusedError(
      `${target.name}: failover not confirmed (answer yes, or pass --yes): nothing was done.\n${decision.risk}`,
    );
  }
  const answer = await target.rest(decision.candidate, 'POST', '/failover', { candidate: decision.candidate });
  if (answer.status !== 200)
    throw new Error(
      `${target.name}: ${decision.candidate} refused the failover: HTTP ${answer.status} ${answer.body.trim()}`,
    );
  const after = await waitForCluster(
    target,
    spec,
    (now) => primaryOf(now)?.name === decision.candidate,
    `${decision.candidate} as primary`,
    60_000,
  );
  return `failover done: ${decision.candidate} is the primary (${describeMembers(after)})\n`;
}

export function assertUsable(spec: ClusterSpec | undefined, target: DrTarget): ClusterSpec {
  if (!spec) throw new UsageError(`${target.name} has no DR region`);
  return spec;
}
