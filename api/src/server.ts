import { once } from 'node:events';
import type { Server } from 'node:http';
import { createApp } from './app.js';
import type { ApiConfig } from './config.js';
import { createDatabase, type Database } from './db.js';
import type { Logger } from './logger.js';
import { migrateUp } from './migrate.js';

export interface StartedServer {
  server: Server;
  db: Database;
  port: number;
  /** Stops accepting connections, lets in-flight requests finish (up to the grace), closes the pool. */
  stop(): Promise<void>;
}

export async function startServer(config: ApiConfig, logger: Logger): Promise<StartedServer> {
  const db = createDatabase(config);
  await migrateUp(db, logger);
  const server = createApp({ db, logger }).listen(config.API_PORT);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.API_PORT;
  logger.info({ port }, 'API listening');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(grace);
      await db.end();
      logger.info('API stopped');
    })();
    return stopping;
  };
  return { server, db, port, stop };
}
