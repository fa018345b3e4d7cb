import type { Database } from '../db.js';
import type { NewReferee, Referee, RefereeListQuery } from './referee.js';

interface RefereeRow {
  id: string;
  name: string;
  email: string;
  licence_level: Referee['licenceLevel'];
  firebase_uid: string | null;
  created_at: Date;
}

const columns = 'id, name, email, licence_level, firebase_uid, created_at';

function toReferee(row: RefereeRow): Referee {
  return {
    id: Number(row.id),
    name: row.name,
    email: row.email,
    licenceLevel: row.licence_level,
    firebaseUid: row.firebase_uid,
    createdAt: row.created_at.toISOString(),
  };
}

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

  async findById(id: number): Promise<Referee | null> {
    const { rows } = await this.db.query<RefereeRow>(`SELECT ${columns} FROM referee WHERE id = $1`, [id]);
    return rows[0] ? toReferee(rows[0]) : null;
  }

  async list(query: RefereeListQuery): Promise<Referee[]> {
    const { rows } = await this.db.query<RefereeRow>(
      `SELECT ${columns} FROM referee ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2`,
      [query.limit, query.offset],
    );
    return rows.map(toReferee);
  }
}
