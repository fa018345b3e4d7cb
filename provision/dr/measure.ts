// RTO and RPO from what the load generator saw (pure): each write's outcome and timing, the moment
// of the disaster, and the rows the surviving primary has.
import { z } from 'zod';

/** One write attempt as the load generator reports it (one JSON line each). */
export const attemptSchema = z.strictObject({
  seq: z.number().int().nonnegative(),
  key: z.string(),
  ok: z.boolean(),
  status: z.number().int(),
  start: z.number(),
  end: z.number(),
  error: z.string().optional(),
});
export type Attempt = z.infer<typeof attemptSchema>;

export interface Measurement {
  attempts: number;
  committed: number;
  failed: number;
  /** ms from the disaster to the end of the first write that succeeded after it; undefined: never. */
  rtoMs: number | undefined;
  /** ms from the disaster to the first failed write (how soon clients noticed). */
  firstFailureMs: number | undefined;
  /** Writes the API answered as committed that the surviving primary does not have. */
  lost: string[];
  /** Failed writes (no answer, or an error) that the primary has anyway: committed, but not acknowledged. */
  committedUnacknowledged: number;
  /** RPO as time: from the earliest lost acknowledgement to the disaster (0 when nothing was lost). */
  lostWindowMs: number;
}

export function measure(attempts: readonly Attempt[], disasterAt: number, present: ReadonlySet<string>): Measurement {
  const committed = attempts.filter((attempt) => attempt.ok);
  const after = attempts.filter((attempt) => attempt.start >= disasterAt);
  const firstFailure = attempts
    .filter((attempt) => !attempt.ok && attempt.end >= disasterAt)
    .sort((a, b) => a.end - b.end)[0];
  // Recovered: the first success that started after the disaster (and after the first failure, when
  // there was one: a request that slipped through before the old primary died does not count).
  const from = Math.max(disasterAt, firstFailure?.start ?? disasterAt);
  const recovered = after.filter((attempt) => attempt.ok && attempt.start >= from).sort((a, b) => a.end - b.end)[0];
  const lostEnds = committed.filter((attempt) => !present.has(attempt.key)).map((attempt) => attempt.end);
  return {
    attempts: attempts.length,
    committed: committed.length,
    failed: attempts.length - committed.length,
    rtoMs: recovered === undefined ? undefined : recovered.end - disasterAt,
    firstFailureMs: firstFailure === undefined ? undefined : firstFailure.end - disasterAt,
    lost: committed.filter((attempt) => !present.has(attempt.key)).map((attempt) => attempt.key),
    committedUnacknowledged: attempts.filter((attempt) => !attempt.ok && present.has(attempt.key)).length,
    lostWindowMs: lostEnds.length === 0 ? 0 : Math.max(0, disasterAt - Math.min(...lostEnds)),
  };
}

export function parseAttempts(output: string): Attempt[] {
  const attempts: Attempt[] = [];
  for (const line of output.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    const parsed = attemptSchema.safeParse(JSON.parse(line));
    if (parsed.success) attempts.push(parsed.data);
  }
  return attempts;
}
