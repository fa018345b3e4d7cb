import type { Database } from '../db.js';
import type { NewReferee, Referee, RefereeListQuery } from './referee.js';

interface RefereeRow {
  id: string;
  name: string;
  email: string;
  licence_level: Referee['licenceLevel'];
  created_at: Date;
}

const columns = 'id, name, email, licence_level, created_at';

function toReferee(row: RefereeRow): Referee {
  return {
    id: Number(row.id),
    name: row.name,
    email: row.email,
    licenceLevel: row.licence_level,
    createdAt: row.created_at.toISOString(),
  };
}

export class EmailTakenError extends Error {
  override readonly name = 'EmailTakenError';
}

export class RefereeRepository {
  constructor(private readonly db: Database) {}

  async create(referee: NewReferee): Promise<Referee> {
    try {
      const { rows } = await this.db.query<RefereeRow>(
        `INSERT INTO referee (name, email, licence_level) VALUES ($1, $2, $3) RETURNING ${columns}`,
        [referee.name, referee.email, referee.licenceLevel],
      );
      return toReferee(rows[0] as RefereeRow);
    } catch (error) {
      // 23505: unique_violation on referee_email_key
      if ((error as { code?: string }).code === '23505') throw new EmailTakenError(referee.email);
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
