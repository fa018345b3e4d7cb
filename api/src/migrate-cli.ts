// Applies pending migrations and exits: `npm run migrate` (the API also does this at start).
import { loadConfig } from './config.js';
import { createDatabase } from './db.js';
import { createLogger } from './logger.js';
import { migrateUp } from './migrate.js';

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const db = createDatabase(config);
try {
  await migrateUp(db, logger, config);
} catch (error) {
  logger.fatal({ err: error }, 'migration failed');
  process.exitCode = 1;
} finally {
  await db.end();
}
