import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { createApp } from './app.js';
import type { ApiConfig } from './config.js';
import { createDatabase, type Database } from './db.js';
import { connectFirebase } from './firebase.js';
import { RealtimeMirror } from './realtime/realtime-mirror.js';
import type { Logger } from './logger.js';
import { ApiMetrics } from './metrics.js';
import { migrateUp } from './migrate.js';
import { WriteLimiter } from './http/write-limit.js';

export interface StartedServer {
  app: Express;
  server: Server;
  db: Database;
  mirror: RealtimeMirror;
  port: number;
  metricsPort: number;
  /** Stops accepting connections, lets in-flight requests finish (up to the grace), closes the pool. */
  stop(): Promise<void>;
}

async function listen(server: Server, port: number): Promise<number> {
  server.listen(port);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Closes a server gracefully: idle keep-alive sockets now, busy ones when their answer is sent. */
async function drain(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(deadline);
}

export async function startServer(config: ApiConfig, logger: Logger): Promise<StartedServer> {
  const db = createDatabase(config);
  // An idle connection the server ends (a restart, a failover) leaves the pool, which opens another
  // on demand; without a listener pg would throw the event and end the process.
  db.on('error', (error) =>
    logger.warn({ err: error }, 'an idle database connection was closed by the server; the pool replaces it'),
  );
  await migrateUp(db, logger, config);
  const firebase = connectFirebase(config);
  const metrics = new ApiMetrics(db);
  const mirror = new RealtimeMirror(db, firebase.firestore, logger, {
    maxBackoffMs: config.REALTIME_MAX_BACKOFF_MS,
    maxAttempts: config.REALTIME_MAX_ATTEMPTS,
    observer: metrics.mirrorObserver,
  });
  metrics.trackOutbox(
    () => mirror.pending(),
    () => mirror.deadLetters(),
  );
  const writeLimiter = new WriteLimiter({
    burst: config.API_WRITE_LIMIT_BURST,
    perSecond: config.API_WRITE_LIMIT_PER_SECOND,
  });
  const app = createApp({
    db,
    logger,
    metrics,
    auth: firebase.auth,
    mirrorChanged: () => mirror.notify(),
    writeLimiter,
  });
  const server = createServer(app);
  // Idle keep-alive connections close soon after a response (nginx reuses them) and during drain.
  server.keepAliveTimeout = 5_000;
  const metricsServer = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (error: unknown) => {
        logger.error({ err: error }, 'metrics collection failed');
        response.writeHead(500).end();
      },
    );
  });
  const port = await listen(server, config.API_PORT);
  const metricsPort = await listen(metricsServer, config.METRICS_PORT);
  mirror.start();
  logger.info({ port, metricsPort }, 'API listening');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await Promise.all([drain(server, config.SHUTDOWN_GRACE_MS), drain(metricsServer, 1_000)]);
      // What the mirror has not delivered stays queued in Postgres for the next process.
      await mirror.stop();
      await firebase.close();
      await db.end();
      logger.info('API stopped');
    })();
    return stopping;
  };
  return { app, server, db, mirror, port, metricsPort, stop };
}
