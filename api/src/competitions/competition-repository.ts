import type { Database } from '../db.js';
import { conflict, pgErrorCode, pgErrors } from '../http/domain-error.js';
import type { Competition, NewCompetition } from './competition.js';

interface CompetitionRow {
  id: string;
  name: string;
  season: string;
  created_at: Date;
}

const toCompetition = (row: CompetitionRow): Competition => ({
  id: Number(row.id),
  name: row.name,
  season: row.season,
  createdAt: row.created_at.toISOString(),
});

export class CompetitionRepository {
  constructor(private readonly db: Database) {}

  async create(competition: NewCompetition): Promise<Competition> {
    try {
      const { rows } = await this.db.query<CompetitionRow>(
        'INSERT INTO competition (name, season) VALUES ($1, $2) RETURNING id, name, season, created_at',
        [competition.name, competition.season],
      );
      return toCompetition(rows[0] as CompetitionRow);
    } catch (error) {
      if (pgErrorCode(error) === pgErrors.uniqueViolation) {
        throw conflict('competition_exists', `${competition.name} ${competition.season} already exists`);
      }
      throw error;
    }
  }

  async list(): Promise<Competition[]> {
    const { rows } = await this.db.query<CompetitionRow>(
      'SELECT id, name, season, created_at FROM competition ORDER BY season DESC, name',
    );
    return rows.map(toCompetition);
  }
}
