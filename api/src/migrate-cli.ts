// Applies pending migrations and exits: `npm run migrate` (the API also does this at start, expand
// only). `--phase contract` applies the contract migrations too: the separate step after a deploy
// (`npm run deploy -- <env> contract`, docs/runbooks/deploy.md).
import { loadConfig } from './config.js';
import { createDatabase } from './db.js';
import { createLogger } from './logger.js';
import { migrateUp } from './migrate.js';
import { migrationPhases, type MigrationPhase } from './migration-phase.js';

const phaseAt = process.argv.indexOf('--phase');
const phase = (
  phaseAt === -1 ? (process.env.MIGRATION_PHASE ?? 'expand') : process.argv[phaseAt + 1]
) as MigrationPhase;
if (!migrationPhases.includes(phase)) {
  console.error(`migrate: --phase must be one of ${migrationPhases.join(', ')}, not "${phase}"`);
  process.exit(2);
}

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const db = createDatabase(config);
try {
  await migrateUp(db, logger, config, phase);
} catch (error) {
  logger.fatal({ err: error }, 'migration failed');
  process.exitCode = 1;
} finally {
  await db.end();
}
