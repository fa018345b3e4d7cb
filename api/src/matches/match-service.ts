import type pg from 'pg';
import { inTransaction, type Database } from '../db.js';
import { conflict } from '../http/domain-error.js';
import { HttpError } from '../http/http-error.js';
import { enqueueDocuments, eventDocument, matchDocument, officialUidsOf } from '../realtime/outbox.js';
import type { EventRecorder, MatchRepository } from './match-repository.js';
import {
  canMoveTo,
  canRecordEvents,
  canSubmitReport,
  sameEvent,
  type Match,
  type MatchEvent,
  type MatchListQuery,
  type MatchReport,
  type MatchStatus,
  type NewMatch,
  type NewMatchEvent,
  type NewMatchReport,
  type OfficialRole,
} from './match.js';

export type { EventRecorder } from './match-repository.js';

export interface RecordedEvent {
  event: MatchEvent;
  /** True when the key had already recorded this very event: the answer is a replay. */
  replayed: boolean;
}

/**
 * The match use cases: the rules (status transitions, a finished match's officials, events while
 * live, idempotent events, the report after the final whistle by the referee) applied in one
 * transaction each, under the row lock the repository takes, and the real-time mirror told once a
 * change that queued documents for it is committed.
 */
export class MatchService {
  /** `mirrorChanged` is called after a commit that queued documents for the real-time mirror. */
  constructor(
    private readonly db: Database,
    private readonly matches: MatchRepository,
    private readonly mirrorChanged: () => void = () => undefined,
  ) {}

  /** Runs `work` in a transaction, then tells the mirror (only once the change is committed). */
  private async mirrored<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const result = await inTransaction(this.db, work);
    this.mirrorChanged();
    return result;
  }

  create(match: NewMatch): Promise<Match> {
    return this.mirrored(async (client) => {
      const created = await this.matches.get(await this.matches.insert(client, match), client);
      await enqueueDocuments(client, [matchDocument(created, [])]);
      return created;
    });
  }

  get(id: number): Promise<Match> {
    return this.matches.get(id);
  }

  list(query: MatchListQuery): Promise<Match[]> {
    return this.matches.list(query);
  }

  changeStatus(id: number, to: MatchStatus): Promise<Match> {
    return this.mirrored(async (client) => {
      const from = await this.matches.lockStatus(client, id, 'UPDATE');
      if (!canMoveTo(from, to)) throw conflict('invalid_transition', `match ${id} cannot go from ${from} to ${to}`);
      await this.matches.updateStatus(client, id, to);
      const moved = await this.matches.get(id, client);
      await enqueueDocuments(client, [matchDocument(moved, await officialUidsOf(client, id))]);
      return moved;
    });
  }

  assignOfficial(id: number, role: OfficialRole, refereeId: number): Promise<Match> {
    // Mirrored: the match document's officialUids decide who may read it in Firestore.
    return this.mirrored(async (client) => {
      const status = await this.matches.lockStatus(client, id, 'UPDATE');
      if (status === 'finished') throw conflict('match_finished', `match ${id} is finished: its officials are final`);
      await this.matches.upsertOfficial(client, id, role, refereeId);
      const assigned = await this.matches.get(id, client);
      await enqueueDocuments(client, [matchDocument(assigned, await officialUidsOf(client, id))]);
      return assigned;
    });
  }

  /**
   * Records an event once per idempotency key: a retry of the same event returns the stored one;
   * the same key with a different event is refused.
   */
  recordEvent(
    id: number,
    idempotencyKey: string,
    event: NewMatchEvent,
    recorder: EventRecorder,
  ): Promise<RecordedEvent> {
    return this.mirrored(async (client) => {
      const status = await this.matches.lockStatus(client, id, 'SHARE');
      const recorded = await this.matches.insertEvent(client, id, idempotencyKey, event, recorder);
      if (recorded) {
        // Checked after the insert so a replay is recognised even once the match has moved on.
        if (!canRecordEvents(status))
          throw conflict('match_not_live', `match ${id} is ${status}: events are recorded while it is live`);
        await enqueueDocuments(client, [eventDocument(recorded)]);
        return { event: recorded, replayed: false };
      }
      const stored = await this.matches.eventByKey(client, id, idempotencyKey);
      if (!sameEvent(stored, event)) {
        throw new HttpError(422, 'idempotency_key_reused', 'this Idempotency-Key already recorded a different event', [
          { field: 'headers.idempotency-key', message: 'already used for another event' },
        ]);
      }
      return { event: stored, replayed: true };
    });
  }

  async listEvents(id: number): Promise<MatchEvent[]> {
    await this.matches.get(id);
    return this.matches.listEvents(id);
  }

  submitReport(id: number, refereeId: number, report: NewMatchReport): Promise<MatchReport> {
    return inTransaction(this.db, async (client) => {
      const status = await this.matches.lockStatus(client, id, 'SHARE');
      if (!canSubmitReport(status))
        throw conflict('match_not_finished', `match ${id} is ${status}: the report comes after the final whistle`);
      if (!(await this.matches.hasOfficial(client, id, 'referee', refereeId))) {
        throw new HttpError(403, 'not_the_referee', `referee ${refereeId} is not the referee of match ${id}`);
      }
      return this.matches.insertReport(client, id, refereeId, report);
    });
  }

  getReport(id: number): Promise<MatchReport> {
    return this.matches.getReport(id);
  }
}
