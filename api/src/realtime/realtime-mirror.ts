import type { Firestore } from 'firebase-admin/firestore';
import { inTransaction, type Database } from '../db.js';
import type { Logger } from '../logger.js';
import { withTimeout } from '../timeout.js';

interface OutboxRow {
  id: string;
  document_path: string;
  payload: Record<string, unknown>;
}

/** Told of each delivery and failure (the API's metrics). */
export interface MirrorObserver {
  delivered(count: number): void;
  failed(): void;
}

export interface MirrorOptions {
  observer?: MirrorObserver;
  batchSize?: number;
  /** A Firestore write that takes longer counts as failed (Firestore is down or unreachable). */
  writeTimeoutMs?: number;
  /** Poll interval when idle; a change made by this process wakes the mirror at once. */
  idleMs?: number;
  maxBackoffMs?: number;
}

// One mirror at a time across API replicas keeps each document's writes in commit order.
const mirrorLockKey = 0x52_45_46_5a; // "REFZ"

/**
 * Copies the realtime_outbox to Firestore, oldest first, and removes what was delivered. On
 * failure nothing is removed: it retries with exponential back-off and catches up when Firestore
 * answers again.
 */
export class RealtimeMirror {
  private readonly batchSize: number;
  private readonly writeTimeoutMs: number;
  private readonly idleMs: number;
  private readonly maxBackoffMs: number;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private consecutiveFailures = 0;
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
    this.observer = options.observer ?? { delivered: () => undefined, failed: () => undefined };
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

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let pause = this.idleMs;
      try {
        const delivered = await this.deliverBatch();
        this.consecutiveFailures = 0;
        if (delivered === this.batchSize) continue; // more is waiting
      } catch (error) {
        this.observer.failed();
        this.consecutiveFailures += 1;
        pause = Math.min(this.maxBackoffMs, 250 * 2 ** Math.min(this.consecutiveFailures, 16));
        this.logger.warn({ err: error, retryInMs: pause }, 'realtime mirror: Firestore write failed; changes kept for retry');
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

  /** Delivers up to one batch; returns how many rows it delivered. */
  async deliverBatch(): Promise<number> {
    return inTransaction(this.db, async (client) => {
      const { rows: lock } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [mirrorLockKey]);
      if (!lock[0]?.locked) return 0;
      const { rows } = await client.query<OutboxRow>('SELECT id, document_path, payload FROM realtime_outbox ORDER BY id LIMIT $1', [this.batchSize]);
      if (rows.length === 0) return 0;
      const batch = this.firestore.batch();
      for (const row of rows) batch.set(this.firestore.doc(row.document_path), row.payload, { merge: true });
      try {
        await withTimeout(batch.commit(), this.writeTimeoutMs, 'Firestore batch write');
      } catch (error) {
        // Counted on the oldest row, outside this transaction (which rolls back).
        await this.db
          .query('UPDATE realtime_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [rows[0]?.id, String(error).slice(0, 500)])
          .catch(() => undefined);
        throw error;
      }
      await client.query('DELETE FROM realtime_outbox WHERE id = ANY($1::bigint[])', [rows.map((row) => row.id)]);
      this.observer.delivered(rows.length);
      return rows.length;
    });
  }
}
