import type pg from 'pg';
import type { Database } from '../db.js';
import { conflict, notFound, pgErrorCode, pgErrors } from '../http/domain-error.js';
import { HttpError } from '../http/http-error.js';
import {
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

interface MatchRow {
  id: string;
  competition_id: string;
  home_team: string;
  away_team: string;
  venue: string;
  kickoff_at: Date;
  status: MatchStatus;
  started_at: Date | null;
  finished_at: Date | null;
  officials: { role: OfficialRole; refereeId: number }[];
}

interface EventRow {
  id: string;
  match_id: string;
  kind: MatchEvent['kind'];
  period: number;
  clock_seconds: number;
  team: MatchEvent['team'];
  player: string | null;
  player_off: string | null;
  recorded_by: string | null;
  recorded_at: Date;
}

interface ReportRow {
  match_id: string;
  referee_id: string;
  home_score: number;
  away_score: number;
  summary: string;
  incidents: string | null;
  submitted_at: Date;
}

const matchColumns = `m.id, m.competition_id, m.home_team, m.away_team, m.venue, m.kickoff_at, m.status, m.started_at,
  m.finished_at, COALESCE((SELECT json_agg(json_build_object('role', o.role, 'refereeId', o.referee_id) ORDER BY o.role)
  FROM match_official o WHERE o.match_id = m.id), '[]') AS officials`;
/** GET /api/matches/:id's one query (exported so bench/api-load.ts's bare floor runs exactly this). */
export const matchByIdSql = `SELECT ${matchColumns} FROM match m WHERE m.id = $1`;
const eventColumns = 'id, match_id, kind, period, clock_seconds, team, player, player_off, recorded_by, recorded_at';

const toMatch = (row: MatchRow): Match => ({
  id: Number(row.id),
  competitionId: Number(row.competition_id),
  homeTeam: row.home_team,
  awayTeam: row.away_team,
  venue: row.venue,
  kickoffAt: row.kickoff_at.toISOString(),
  status: row.status,
  startedAt: row.started_at?.toISOString() ?? null,
  finishedAt: row.finished_at?.toISOString() ?? null,
  officials: row.officials,
});

const toEvent = (row: EventRow): MatchEvent => ({
  id: Number(row.id),
  matchId: Number(row.match_id),
  kind: row.kind,
  period: row.period,
  clockSeconds: row.clock_seconds,
  team: row.team,
  player: row.player,
  playerOff: row.player_off,
  recordedBy: row.recorded_by === null ? null : Number(row.recorded_by),
  recordedAt: row.recorded_at.toISOString(),
});

const toReport = (row: ReportRow): MatchReport => ({
  matchId: Number(row.match_id),
  refereeId: Number(row.referee_id),
  homeScore: row.home_score,
  awayScore: row.away_score,
  summary: row.summary,
  ...(row.incidents === null ? {} : { incidents: row.incidents }),
  submittedAt: row.submitted_at.toISOString(),
});

const unknownReference = (field: string, message: string) =>
  new HttpError(422, 'unknown_reference', message, [{ field, message: 'does not exist' }]);

/** Who entered an event: their Firebase user, and their referee record when they have one (admins may not). */
export interface EventRecorder {
  uid: string;
  refereeId: number | null;
}

/** A connection: the pool for a lone statement, a transaction's client otherwise. */
export type Queryable = pg.ClientBase | Database;

/**
 * Matches, their officials, events and reports in PostgreSQL: SQL and the rows it returns, and the
 * database's own refusals (a foreign key, a unique key) named for the caller. The rules of the game
 * (which status may follow which, who may do what) are MatchService's.
 */
export class MatchRepository {
  constructor(private readonly db: Database) {}

  async insert(client: Queryable, match: NewMatch): Promise<number> {
    try {
      const { rows } = await client.query<{ id: string }>(
        'INSERT INTO match (competition_id, home_team, away_team, venue, kickoff_at) VALUES ($1, $2, $3, $4, $5) RETURNING id',
        [match.competitionId, match.homeTeam, match.awayTeam, match.venue, match.kickoffAt],
      );
      return Number(rows[0]?.id);
    } catch (error) {
      if (pgErrorCode(error) === pgErrors.foreignKeyViolation) {
        throw unknownReference('body.competitionId', `competition ${match.competitionId} does not exist`);
      }
      throw error;
    }
  }

  async get(id: number, client: Queryable = this.db): Promise<Match> {
    const { rows } = await client.query<MatchRow>(matchByIdSql, [id]);
    if (!rows[0]) throw notFound(`match ${id}`);
    return toMatch(rows[0]);
  }

  async list(query: MatchListQuery): Promise<Match[]> {
    const { rows } = await this.db.query<MatchRow>(
      `SELECT ${matchColumns} FROM match m
        WHERE ($1::bigint IS NULL OR m.competition_id = $1)
          AND ($2::match_status IS NULL OR m.status = $2)
          AND ($3::bigint IS NULL OR EXISTS (SELECT 1 FROM match_official o WHERE o.match_id = m.id AND o.referee_id = $3))
        ORDER BY m.kickoff_at, m.id LIMIT $4 OFFSET $5`,
      [query.competitionId ?? null, query.status ?? null, query.refereeId ?? null, query.limit, query.offset],
    );
    return rows.map(toMatch);
  }

  /** Reads the match's status under a row lock, so the check and the change that follows agree. */
  async lockStatus(client: pg.ClientBase, id: number, mode: 'UPDATE' | 'SHARE'): Promise<MatchStatus> {
    const { rows } = await client.query<{ status: MatchStatus }>(`SELECT status FROM match WHERE id = $1 FOR ${mode}`, [
      id,
    ]);
    if (!rows[0]) throw notFound(`match ${id}`);
    return rows[0].status;
  }

  /** Sets the status, and the kick-off or final-whistle time that goes with it. */
  async updateStatus(client: pg.ClientBase, id: number, to: MatchStatus): Promise<void> {
    await client.query(
      `UPDATE match SET status = $2::match_status,
         started_at = CASE WHEN $2::match_status = 'live' THEN now() ELSE started_at END,
         finished_at = CASE WHEN $2::match_status = 'finished' THEN now() ELSE finished_at END
       WHERE id = $1`,
      [id, to],
    );
  }

  async upsertOfficial(client: pg.ClientBase, id: number, role: OfficialRole, refereeId: number): Promise<void> {
    try {
      await client.query(
        `INSERT INTO match_official (match_id, role, referee_id) VALUES ($1, $2, $3)
         ON CONFLICT (match_id, role) DO UPDATE SET referee_id = EXCLUDED.referee_id`,
        [id, role, refereeId],
      );
    } catch (error) {
      if (pgErrorCode(error) === pgErrors.foreignKeyViolation) {
        throw unknownReference('body.refereeId', `referee ${refereeId} does not exist`);
      }
      if (pgErrorCode(error) === pgErrors.uniqueViolation) {
        throw conflict('referee_already_assigned', `referee ${refereeId} already has another role in match ${id}`);
      }
      throw error;
    }
  }

  /** Inserts the event unless its idempotency key already recorded one: null then. */
  async insertEvent(
    client: pg.ClientBase,
    id: number,
    idempotencyKey: string,
    event: NewMatchEvent,
    recorder: EventRecorder,
  ): Promise<MatchEvent | null> {
    const { rows } = await client.query<EventRow>(
      `INSERT INTO match_event (match_id, kind, period, clock_seconds, team, player, player_off, idempotency_key, recorded_by, recorded_by_uid)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (match_id, idempotency_key) DO NOTHING RETURNING ${eventColumns}`,
      [
        id,
        event.kind,
        event.period,
        event.clockSeconds,
        'team' in event ? event.team : null,
        'player' in event ? event.player : null,
        'playerOff' in event ? event.playerOff : null,
        idempotencyKey,
        recorder.refereeId,
        recorder.uid,
      ],
    );
    return rows[0] ? toEvent(rows[0]) : null;
  }

  async eventByKey(client: pg.ClientBase, id: number, idempotencyKey: string): Promise<MatchEvent> {
    const { rows } = await client.query<EventRow>(
      `SELECT ${eventColumns} FROM match_event WHERE match_id = $1 AND idempotency_key = $2`,
      [id, idempotencyKey],
    );
    return toEvent(rows[0] as EventRow);
  }

  async listEvents(id: number): Promise<MatchEvent[]> {
    const { rows } = await this.db.query<EventRow>(
      `SELECT ${eventColumns} FROM match_event WHERE match_id = $1 ORDER BY period, clock_seconds, id`,
      [id],
    );
    return rows.map(toEvent);
  }

  async hasOfficial(client: pg.ClientBase, id: number, role: OfficialRole, refereeId: number): Promise<boolean> {
    const { rowCount } = await client.query(
      'SELECT 1 FROM match_official WHERE match_id = $1 AND role = $2 AND referee_id = $3',
      [id, role, refereeId],
    );
    return (rowCount ?? 0) > 0;
  }

  async insertReport(
    client: pg.ClientBase,
    id: number,
    refereeId: number,
    report: NewMatchReport,
  ): Promise<MatchReport> {
    try {
      const { rows } = await client.query<ReportRow>(
        `INSERT INTO match_report (match_id, referee_id, home_score, away_score, summary, incidents)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [id, refereeId, report.homeScore, report.awayScore, report.summary, report.incidents ?? null],
      );
      return toReport(rows[0] as ReportRow);
    } catch (error) {
      if (pgErrorCode(error) === pgErrors.uniqueViolation)
        throw conflict('report_exists', `match ${id} already has its report`);
      throw error;
    }
  }

  async getReport(id: number): Promise<MatchReport> {
    const { rows } = await this.db.query<ReportRow>('SELECT * FROM match_report WHERE match_id = $1', [id]);
    if (!rows[0]) throw notFound(`the report of match ${id}`);
    return toReport(rows[0]);
  }
}
