// What the DR commands know of a Patroni cluster, read from Patroni itself (GET /cluster on any
// member: the DCS's view) and from etcd's /health on each member. Pure: parsing and the decisions
// (who is primary, whether a promotion is safe, whether it is split-brained).
import { z } from 'zod';

/** One member as Patroni's GET /cluster lists it. */
const memberSchema = z.object({
  name: z.string(),
  role: z.string(),
  state: z.string(),
  host: z.string().optional(),
  timeline: z.number().optional(),
  lag: z.union([z.number(), z.string()]).optional(),
  tags: z.record(z.string(), z.unknown()).optional(),
});
export const clusterSchema = z.object({
  members: z.array(memberSchema),
  scope: z.string().optional(),
  pause: z.boolean().optional(),
});
export type Member = z.infer<typeof memberSchema>;
export type Cluster = z.infer<typeof clusterSchema>;

export function parseCluster(json: string, where: string): Cluster {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error(`${where}: Patroni's /cluster did not answer JSON: ${json.slice(0, 200)}`);
  }
  const parsed = clusterSchema.safeParse(value);
  if (!parsed.success)
    throw new Error(`${where}: Patroni's /cluster answer is not as expected: ${parsed.error.message}`);
  return parsed.data;
}

/** Patroni calls a primary "leader" (or "master" before 4.0); a standby cluster's is "standby_leader". */
export function isPrimary(member: Member): boolean {
  return (
    (member.role === 'leader' || member.role === 'master' || member.role === 'primary') && member.state === 'running'
  );
}

export function isStreamingStandby(member: Member): boolean {
  return (
    ['replica', 'sync_standby', 'quorum_standby', 'standby_leader'].includes(member.role) &&
    (member.state === 'streaming' || member.state === 'running')
  );
}

export function primaryOf(cluster: Cluster): Member | undefined {
  return cluster.members.find(isPrimary);
}

/** Each etcd member's answer to GET /health: healthy only when the cluster has a quorum. */
export interface EtcdHealth {
  member: string;
  healthy: boolean;
  detail: string;
}

export function hasQuorum(health: readonly EtcdHealth[]): boolean {
  return health.filter((member) => member.healthy).length > health.length / 2;
}

export type PromotionDecision =
  | { kind: 'refuse'; reason: string }
  | { kind: 'confirm'; risk: string; candidate: string }
  | { kind: 'go'; candidate: string };

/**
 * An unplanned failover (promote a standby now). Never without an etcd quorum: Patroni could not
 * record the new leader, and the old one might still hold the key. With a healthy primary it is a
 * deliberate act that needs confirmation, because switchover does the same safely.
 */
export function decideFailover(
  cluster: Cluster,
  etcd: readonly EtcdHealth[],
  candidate: string | undefined,
): PromotionDecision {
  if (!hasQuorum(etcd)) {
    const down = etcd.filter((member) => !member.healthy).map((member) => `${member.member} (${member.detail})`);
    return {
      kind: 'refuse',
      reason: `etcd has no quorum (${down.join(', ')} unhealthy): nothing is promoted while the cluster state cannot be recorded, or two nodes could both believe they lead. Bring etcd members back first (docs/runbooks/failover.md).`,
    };
  }
  const standbys = cluster.members.filter((member) => !isPrimary(member) && isStreamingStandby(member));
  const chosen =
    candidate === undefined
      ? (standbys.find((member) => member.role === 'sync_standby') ?? standbys[0])
      : cluster.members.find((member) => member.name === candidate);
  if (!chosen) {
    return {
      kind: 'refuse',
      reason:
        candidate === undefined
          ? `no standby is streaming (members: ${describeMembers(cluster)}): there is nothing to promote`
          : `${candidate} is not a member of the cluster (members: ${describeMembers(cluster)})`,
    };
  }
  if (isPrimary(chosen)) return { kind: 'refuse', reason: `${chosen.name} is already the primary` };
  const primary = primaryOf(cluster);
  if (primary) {
    return {
      kind: 'confirm',
      candidate: chosen.name,
      risk: `${primary.name} is a healthy primary. A failover promotes ${chosen.name} at once: transactions in flight on ${primary.name} are cut, and ${chosen.name === cluster.members.find((member) => member.role === 'sync_standby')?.name ? 'no committed write is lost (it is the synchronous standby)' : `writes ${chosen.name} has not received yet (lag ${String(chosen.lag ?? 'unknown')}) are lost`}. A planned change is a switchover (npm run dr -- <target> switchover), which waits for the standby to catch up.`,
    };
  }
  return { kind: 'go', candidate: chosen.name };
}

/** After a drill: exactly one member (across every cluster given) may take writes. */
export function splitBrainCheck(writable: readonly { node: string; primary: boolean }[]): {
  ok: boolean;
  primaries: string[];
} {
  const primaries = writable.filter((node) => node.primary).map((node) => node.node);
  return { ok: primaries.length === 1, primaries };
}

export function describeMembers(cluster: Cluster): string {
  return (
    cluster.members
      .map(
        (member) =>
          `${member.name} ${member.role}/${member.state}${member.lag === undefined ? '' : ` lag ${String(member.lag)}`}`,
      )
      .join(', ') || 'none'
  );
}

export function formatStatus(
  scope: string,
  cluster: Cluster | undefined,
  etcd: readonly EtcdHealth[],
  error?: string,
): string {
  const lines = [`cluster ${scope}${cluster?.pause ? ' (paused: no automatic failover)' : ''}`];
  if (cluster) {
    for (const member of cluster.members) {
      lines.push(
        `  ${member.name.padEnd(8)} ${member.role.padEnd(14)} ${member.state.padEnd(10)} timeline ${String(member.timeline ?? '-').padEnd(4)} lag ${String(member.lag ?? '-')}`,
      );
    }
    const primary = primaryOf(cluster);
    lines.push(
      primary
        ? `  primary: ${primary.name}`
        : cluster.members.some((member) => member.role === 'standby_leader')
          ? '  standby cluster: no primary here by design (promote-dr promotes it)'
          : '  NO PRIMARY: writes fail',
    );
  } else {
    lines.push(`  Patroni unreachable: ${error ?? 'no member answered'}`);
  }
  lines.push(
    `  etcd: ${hasQuorum(etcd) ? 'quorum' : 'NO QUORUM'} (${etcd.map((member) => `${member.member} ${member.healthy ? 'healthy' : `unhealthy: ${member.detail}`}`).join(', ')})`,
  );
  return `${lines.join('\n')}\n`;
}
