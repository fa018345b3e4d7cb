import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PG_MIGRATE_LOCK_ID, runner } from 'node-pg-migrate';
import type { ApiConfig } from './config.js';
import { watchSession, type Database } from './db.js';
import type { Logger } from './logger.js';
import { selectMigrations, type MigrationPhase } from './migration-phase.js';

// src/ (tsx) and dist/ (built) both sit beside migrations/.
export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));

export type MigrationTimeouts = Pick<
  ApiConfig,
  'DB_MIGRATION_LOCK_WAIT_MS' | 'DB_MIGRATION_STATEMENT_TIMEOUT_MS' | 'DB_LOCK_TIMEOUT_MS'
>;

export class MigrationLockError extends Error {
  override readonly name = 'MigrationLockError';
}

const lockNotAvailable = '55P03';

/**
 * Applies pending migrations under node-pg-migrate's advisory lock, so API replicas starting
 * together apply each migration once; the others wait, then find nothing to do. The wait is
 * bounded (a migration stuck elsewhere fails this start with a clear error, and systemd or compose
 * starts it again), and so are the migrations' own lock waits and statements.
 */
/** The migrations on disk, by name (file name without extension), in node-pg-migrate's order. */
export function migrationFiles(): string[] {
  return readdirSync(migrationsDir)
    .filter((file) => /\.(sql|js|cjs|mjs|ts)$/.test(file))
    .map((file) => path.parse(file).name)
    .sort();
}

/**
 * `phase` (docs/runbooks/deploy.md, migration-phase.ts): 'expand', at every API start and in a
 * deploy, applies the pending additive migrations only, stopping before the first contract one so
 * the colour kept as fallback still works; 'contract' applies every pending one.
 */
export async function migrateUp(
  db: Database,
  logger: Logger,
  timeouts: MigrationTimeouts,
  phase: MigrationPhase = 'expand',
): Promise<string[]> {
  const client = await db.connect();
  const lost = watchSession(client);
  try {
    // Taken here rather than by the runner, so that waiting for it has a limit of its own.
    await client.query(`SET lock_timeout = ${timeouts.DB_MIGRATION_LOCK_WAIT_MS}`);
    try {
      await client.query('SELECT pg_advisory_lock($1)', [PG_MIGRATE_LOCK_ID]);
    } catch (error) {
      if ((error as { code?: string }).code !== lockNotAvailable) throw error;
      const { rows } = await client.query<{ pid: number; application_name: string; client_addr: string | null }>(
        `SELECT a.pid, a.application_name, a.client_addr::text FROM pg_locks l JOIN pg_stat_activity a USING (pid)
          WHERE l.locktype = 'advisory' AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = $1`,
        [PG_MIGRATE_LOCK_ID],
      );
      const holder = rows[0]
        ? `backend pid ${rows[0].pid} (${rows[0].application_name || 'no application name'}, ${rows[0].client_addr ?? 'local socket'})`
        : 'another session';
      throw new MigrationLockError(
        `migrations: the migration lock is held by ${holder} and was not released within ${timeouts.DB_MIGRATION_LOCK_WAIT_MS} ms; is another migration stuck?`,
      );
    }
    try {
      await client.query(`SET lock_timeout = ${timeouts.DB_LOCK_TIMEOUT_MS}`);
      await client.query(`SET statement_timeout = ${timeouts.DB_MIGRATION_STATEMENT_TIMEOUT_MS}`);
      const { rows: done } = await client
        .query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY run_on, id')
        .catch((error: unknown) => {
          // A new database has no pgmigrations table yet: nothing was applied.
          if ((error as { code?: string }).code === '42P01') return { rows: [] };
          throw error;
        });
      const selection = selectMigrations(
        migrationFiles(),
        done.map((row) => row.name),
        phase,
      );
      if (selection.waiting.length > 0) {
        logger.warn(
          { waiting: selection.waiting },
          `migrations: ${selection.waiting.length} wait for the contract step (npm run deploy -- <env> contract)`,
        );
      }
      if (selection.apply.length === 0) {
        logger.info({ migrations: [], phase }, 'schema up to date');
        return [];
      }
      const applied = await runner({
        dbClient: client,
        dir: migrationsDir,
        direction: 'up',
        migrationsTable: 'pgmigrations',
        checkOrder: true,
        noLock: true,
        // Exactly the selected ones: they are the first pending ones, in order.
        count: selection.apply.length,
        log: () => undefined,
      });
      const names = applied.map((migration) => migration.name);
      logger.info({ migrations: names, phase }, names.length ? 'migrations applied' : 'schema up to date');
      return names;
    } finally {
      // Closing the connection below releases the lock as well, should this fail.
      await client.query('SELECT pg_advisory_unlock($1)', [PG_MIGRATE_LOCK_ID]).catch(() => undefined);
    }
  } finally {
    lost.stop();
    // The session settings above are the migrations' own: the connection is closed, not pooled.
    client.release(true);
  }
}
