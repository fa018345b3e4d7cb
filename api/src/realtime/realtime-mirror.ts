import type { Firestore } from 'firebase-admin/firestore';
import { inTransaction, type Database } from '../db.js';
import type { Logger } from '../logger.js';
import { withTimeout } from '../timeout.js';

interface OutboxRow {
  id: string;
  document_path: string;
  payload: Record<string, unknown>;
  attempts: number;
}

/** Told of each delivery, failure and dead letter (the API's metrics). */
export interface MirrorObserver {
  delivered(count: number): void;
  failed(): void;
  deadLettered(count: number): void;
}

export interface MirrorOptions {
  observer?: MirrorObserver;
  batchSize?: number;
  /** A Firestore write that takes longer counts as failed (Firestore is down or unreachable). */
  writeTimeoutMs?: number;
  /** Poll interval when idle; a change made by this process wakes the mirror at once. */
  idleMs?: number;
  maxBackoffMs?: number;
  /** Rejections of one change before it goes to the dead letter (outages never count). */
  maxAttempts?: number;
}

// One mirror at a time across API replicas keeps each document's writes in commit order.
const mirrorLockKey = 0x52_45_46_5a; // "REFZ"

/**
 * gRPC codes by which Firestore refuses the write itself (the request is wrong and stays wrong);
 * every other failure (UNAVAILABLE, DEADLINE_EXCEEDED, a timeout, PERMISSION_DENIED while
 * credentials are being fixed…) is an outage: the change waits and is retried, however long.
 */
const rejectionCodes = new Set([3 /* INVALID_ARGUMENT */, 9 /* FAILED_PRECONDITION */, 11 /* OUT_OF_RANGE */]);

/** Firestore (or its client, before sending) refused a write: retrying the same write cannot help. */
export class MirrorRejection extends Error {
  override readonly name = 'MirrorRejection';
}

/** Whether a failed write was refused for what it is, rather than failing for want of Firestore. */
export function isRejection(error: unknown): boolean {
  if (error instanceof MirrorRejection) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && rejectionCodes.has(code);
}

/**
 * Copies the realtime_outbox to Firestore, oldest first, and removes what was delivered. When
 * Firestore is unreachable nothing is removed: it retries with exponential back-off and catches up
 * when Firestore answers again. When Firestore refuses a batch, the rows are sent one by one to
 * find the one refused; a row refused maxAttempts times moves to realtime_dead_letter (counted,
 * logged, alerted on), so one bad change never holds back every later one.
 */
export class RealtimeMirror {
  private readonly batchSize: number;
  private readonly writeTimeoutMs: number;
  private readonly idleMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxAttempts: number;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private consecutiveFailures = 0;
  /** Rows still to send one at a time after a refused batch. */
  private isolating = 0;
  private readonly observer: MirrorObserver;

  constructor(
    private readonly db: Database,
    private readonly firestore: Firestore,
    private readonly logger: Logger,
    options: MirrorOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 200;
    this.writeTimeoutMs = options.writeTimeoutMs ?? 5_000;
    this.idleMs = options.idleMs ?? 1_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.observer = options.observer ?? {
      delivered: () => undefined,
      failed: () => undefined,
      deadLettered: () => undefined,
    };
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** A change was queued: deliver it now rather than at the next poll. */
  notify(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.notify();
    await this.running;
  }

  /** Rows waiting for Firestore (for metrics and readiness reporting). */
  async pending(): Promise<number> {
    const { rows } = await this.db.query<{ count: string }>('SELECT count(*) FROM realtime_outbox');
    return Number(rows[0]?.count ?? 0);
  }

  /** Rows in the dead letter, waiting for an operator (shared by every replica: one database). */
  async deadLetters(): Promise<number> {
    const { rows } = await this.db.query<{ count: string }>('SELECT count(*) FROM realtime_dead_letter');
    return Number(rows[0]?.count ?? 0);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let pause = this.idleMs;
      try {
        const handled = await this.deliverBatch();
        this.consecutiveFailures = 0;
        if (handled > 0) continue; // more may be waiting
      } catch (error) {
        this.observer.failed();
        this.consecutiveFailures += 1;
        pause = Math.min(this.maxBackoffMs, 250 * 2 ** Math.min(this.consecutiveFailures, 16));
        this.logger.warn(
          { err: error, retryInMs: pause },
          'realtime mirror: Firestore write failed; changes kept for retry',
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Writes the rows in one Firestore batch; a row the client refuses to even build is a rejection. */
  private async write(rows: OutboxRow[]): Promise<void> {
    const batch = this.firestore.batch();
    for (const row of rows) {
      try {
        batch.set(this.firestore.doc(row.document_path), row.payload, { merge: true });
      } catch (error) {
        throw new MirrorRejection(`outbox row ${row.id} (${row.document_path}): ${(error as Error).message}`);
      }
    }
    await withTimeout(batch.commit(), this.writeTimeoutMs, 'Firestore batch write');
  }

  /** Handles up to one batch; returns how many rows left the outbox (delivered or dead-lettered). */
  async deliverBatch(): Promise<number> {
    return inTransaction(this.db, async (client) => {
      const { rows: lock } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [
        mirrorLockKey,
      ]);
      if (!lock[0]?.locked) return 0;
      const limit = this.isolating > 0 ? 1 : this.batchSize;
      const { rows } = await client.query<OutboxRow>(
        'SELECT id, document_path, payload, attempts FROM realtime_outbox ORDER BY id LIMIT $1',
        [limit],
      );
      if (rows.length === 0) {
        this.isolating = 0;
        return 0;
      }
      try {
        await this.write(rows);
      } catch (error) {
        const [oldest] = rows as [OutboxRow];
        const lastError = String(error).slice(0, 500);
        if (!isRejection(error)) {
          // An outage: noted on the oldest row (outside this transaction, which rolls back), never counted.
          await this.db
            .query('UPDATE realtime_outbox SET last_error = $2 WHERE id = $1', [oldest.id, lastError])
            .catch(() => undefined);
          throw error;
        }
        if (rows.length > 1) {
          // Which row was refused is unknown: send these one at a time, then batches again.
          this.isolating = rows.length;
          throw error;
        }
        const attempts = oldest.attempts + 1;
        if (attempts < this.maxAttempts) {
          await this.db
            .query('UPDATE realtime_outbox SET attempts = $2, last_error = $3 WHERE id = $1', [
              oldest.id,
              attempts,
              lastError,
            ])
            .catch(() => undefined);
          throw error;
        }
        await client.query(
          `WITH moved AS (DELETE FROM realtime_outbox WHERE id = $1 RETURNING id, document_path, payload, enqueued_at)
           INSERT INTO realtime_dead_letter (id, document_path, payload, enqueued_at, attempts, last_error)
           SELECT id, document_path, payload, enqueued_at, $2, $3 FROM moved`,
          [oldest.id, attempts, lastError],
        );
        this.isolating = Math.max(0, this.isolating - 1);
        this.observer.deadLettered(1);
        this.logger.error(
          {
            'realtime.outbox_id': Number(oldest.id),
            'realtime.document_path': oldest.document_path,
            attempts,
            err: error,
          },
          `realtime mirror: Firestore refused outbox row ${oldest.id} ${attempts} times; moved to realtime_dead_letter, later changes go on`,
        );
        return 1;
      }
      await client.query('DELETE FROM realtime_outbox WHERE id = ANY($1::bigint[])', [rows.map((row) => row.id)]);
      this.isolating = Math.max(0, this.isolating - rows.length);
      this.observer.delivered(rows.length);
      return rows.length;
    });
  }
}
