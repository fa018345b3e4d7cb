import type { Database } from '../db.js';
import type { NewReferee, Referee, RefereeListQuery, RefereeVisibility } from './referee.js';

interface RefereeRow {
  id: string;
  name: string;
  email: string;
  licence_level: Referee['licenceLevel'];
  firebase_uid: string | null;
  deactivated_at: Date | null;
  created_at: Date;
}

const columns = 'id, name, email, licence_level, firebase_uid, deactivated_at, created_at';

function toReferee(row: RefereeRow): Referee {
  return {
    id: Number(row.id),
    name: row.name,
    email: row.email,
    licenceLevel: row.licence_level,
    firebaseUid: row.firebase_uid,
    active: row.deactivated_at === null,
    deactivatedAt: row.deactivated_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

// $1 is the viewing referee (NULL: an admin, who sees all): themselves, and whoever holds a role
// in a match where they hold one.
const visibleTo = `($1::bigint IS NULL OR r.id = $1 OR EXISTS (
  SELECT 1 FROM match_official mine JOIN match_official other USING (match_id)
   WHERE mine.referee_id = $1 AND other.referee_id = r.id))`;

const viewer = (visibility: RefereeVisibility) => (visibility.all ? null : visibility.viewer);

/** The email, or the Firebase user, already belongs to a referee. */
export class RefereeTakenError extends Error {
  override readonly name = 'RefereeTakenError';
  constructor(readonly field: 'email' | 'firebaseUid') {
    super(`${field} already registered`);
  }
}

export class RefereeRepository {
  constructor(private readonly db: Database) {}

  async create(referee: NewReferee): Promise<Referee> {
    try {
      const { rows } = await this.db.query<RefereeRow>(
        `INSERT INTO referee (name, email, licence_level, firebase_uid) VALUES ($1, $2, $3, $4) RETURNING ${columns}`,
        [referee.name, referee.email, referee.licenceLevel, referee.firebaseUid ?? null],
      );
      return toReferee(rows[0] as RefereeRow);
    } catch (error) {
      const { code, constraint } = error as { code?: string; constraint?: string };
      if (code === '23505') throw new RefereeTakenError(constraint === 'referee_email_key' ? 'email' : 'firebaseUid');
      throw error;
    }
  }

  /** The referee, or null when there is none or the caller may not see it. */
  async findById(id: number, visibility: RefereeVisibility = { all: true }): Promise<Referee | null> {
    const { rows } = await this.db.query<RefereeRow>(
      `SELECT ${columns} FROM referee r WHERE ${visibleTo} AND r.id = $2`,
      [viewer(visibility), id],
    );
    return rows[0] ? toReferee(rows[0]) : null;
  }

  async exists(id: number): Promise<boolean> {
    const { rowCount } = await this.db.query('SELECT 1 FROM referee WHERE id = $1', [id]);
    return rowCount === 1;
  }

  async list(query: RefereeListQuery, visibility: RefereeVisibility = { all: true }): Promise<Referee[]> {
    const { rows } = await this.db.query<RefereeRow>(
      `SELECT ${columns} FROM referee r WHERE ${visibleTo} ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
      [viewer(visibility), query.limit, query.offset],
    );
    return rows.map(toReferee);
  }

  /** Marks the referee deactivated (or active again); the first deactivation time is kept. Null when there is no such referee. */
  async setActive(id: number, active: boolean): Promise<Referee | null> {
    const { rows } = await this.db.query<RefereeRow>(
      `UPDATE referee SET deactivated_at = CASE WHEN $2 THEN NULL ELSE coalesce(deactivated_at, now()) END WHERE id = $1 RETURNING ${columns}`,
      [id, active],
    );
    return rows[0] ? toReferee(rows[0]) : null;
  }
}
