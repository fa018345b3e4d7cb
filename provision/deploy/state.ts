import { z } from 'zod';

/** The two deploy colours; `base` is the replica's base install (web1, web2, api), live until the first deploy. */
export const colours = ['blue', 'green'] as const;
export type Colour = (typeof colours)[number];
export type Pool = Colour | 'base';

const ColourStateSchema = z.object({
  version: z.string(),
  /** Image (or artifact) references by digest, per component: web, api. */
  images: z.record(z.string(), z.string()),
  deployedAt: z.string(),
});
export type ColourState = z.infer<typeof ColourStateSchema>;

/**
 * Which pool serves, which one is the fallback, and what each colour runs. Kept with the switch
 * itself (the replica: beside HAProxy's map in the lb volume; production: beside the lock on the
 * web hosts), never in the deploy tool's memory.
 */
export const DeployStateSchema = z.object({
  live: z.enum(['base', ...colours]),
  /** Where `rollback` goes: the pool that was live before the last switch. */
  previous: z.enum(['base', ...colours]).nullable(),
  /** When `live` got the traffic. */
  since: z.string().nullable(),
  colours: z.object({ blue: ColourStateSchema.optional(), green: ColourStateSchema.optional() }),
});
export type DeployState = z.infer<typeof DeployStateSchema>;

export const initialState: DeployState = { live: 'base', previous: null, since: null, colours: {} };

/** The colour a deploy goes to: the one not serving (blue first). */
export function idleColour(state: DeployState): Colour {
  return state.live === 'blue' ? 'green' : 'blue';
}

/** The state after traffic moved to `to`. */
export function switched(state: DeployState, to: Pool, at: string): DeployState {
  return { ...state, live: to, previous: state.live === to ? state.previous : state.live, since: at };
}

/** One line per pool for `status`: pool, role, version, since. */
export function statusLines(state: DeployState, health: Partial<Record<Pool, string>>, baseVersion: string): string[] {
  const rows: string[][] = [['POOL', 'ROLE', 'VERSION', 'SINCE', 'HEALTH', 'IMAGES']];
  const pools: Pool[] = ['base', ...colours];
  for (const pool of pools) {
    const colour = pool === 'base' ? undefined : state.colours[pool];
    if (pool !== 'base' && !colour) continue;
    const role = state.live === pool ? 'live' : state.previous === pool ? 'fallback' : 'idle';
    const since = state.live === pool ? (state.since ?? 'start') : (colour?.deployedAt ?? '-');
    rows.push([
      pool,
      role,
      colour?.version ?? baseVersion,
      since,
      health[pool] ?? '?',
      colour
        ? Object.entries(colour.images)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')
        : '-',
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
  );
}
