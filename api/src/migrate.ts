import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type { Database } from './db.js';
import type { Logger } from './logger.js';

// src/ (tsx) and dist/ (built) both sit beside migrations/.
export const migrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));

/**
 * Applies pending migrations. node-pg-migrate takes an advisory lock, so API replicas starting
 * together apply each migration once; the others wait, then find nothing to do.
 */
export async function migrateUp(db: Database, logger: Logger): Promise<string[]> {
  const client = await db.connect();
  try {
    const applied = await runner({
      dbClient: client,
      dir: migrationsDir,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      checkOrder: true,
      advisoryLockMode: 'wait',
      log: () => undefined,
    });
    const names = applied.map((migration) => migration.name);
    logger.info({ migrations: names }, names.length ? 'migrations applied' : 'schema up to date');
    return names;
  } finally {
    client.release();
  }
}
