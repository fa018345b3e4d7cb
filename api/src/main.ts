import { ConfigError, loadConfig, type ApiConfig } from './config.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

let config: ApiConfig;
try {
  config = loadConfig();
} catch (error) {
  // Loud and final: a refused setting (an emulator in production, a missing password) is logged as
  // a fatal line the log pipeline indexes, and the process never listens.
  if (!(error instanceof ConfigError)) throw error;
  createLogger('info').fatal({ err: error }, `API refused to start: ${error.message}`);
  process.exit(1);
}
const logger = createLogger(config.LOG_LEVEL);

try {
  const started = await startServer(config, logger);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'draining before exit');
      started.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
} catch (error) {
  logger.fatal({ err: error }, 'API failed to start');
  process.exit(1);
}
