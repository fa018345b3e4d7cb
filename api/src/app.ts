import express, { type Express } from 'express';
import type { Auth } from 'firebase-admin/auth';
import helmet from 'helmet';
import { authenticate } from './auth/principal.js';
import { databaseAnswers, type Database } from './db.js';
import { errorHandler, notFound } from './http/error-handler.js';
import { requestLogging } from './http/request-logging.js';
import { writeLimit, type WriteLimiter } from './http/write-limit.js';
import type { Logger } from './logger.js';
import type { ApiMetrics } from './metrics.js';
import { CompetitionRepository } from './competitions/competition-repository.js';
import { competitionRoutes } from './competitions/competition-routes.js';
import { MatchRepository } from './matches/match-repository.js';
import { MatchService } from './matches/match-service.js';
import { openApiDocument } from './openapi.js';
import { matchRoutes } from './matches/match-routes.js';
import { RefereeRepository } from './referees/referee-repository.js';
import { refereeRoutes } from './referees/referee-routes.js';

export interface AppDependencies {
  db: Database;
  logger: Logger;
  metrics: ApiMetrics;
  /** Verifies the callers' Firebase ID tokens. */
  auth: Auth;
  /** Called after a commit that queued documents for the real-time mirror. */
  mirrorChanged: () => void;
  /** The per-user limit on write routes (none when absent). */
  writeLimiter?: WriteLimiter;
}

export function createApp({ db, logger, metrics, auth, mirrorChanged, writeLimiter }: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  // The CDN and the LB sit in front: trust their X-Forwarded-* for the client address.
  app.set('trust proxy', 'loopback, uniquelocal');
  app.use(metrics.middleware);
  app.use(requestLogging(logger));
  app.use(helmet());
  // A match event or a report is a few hundred bytes; 16 kB leaves room and bounds abuse.
  app.use(express.json({ limit: '16kb' }));

  // Liveness: the process answers. Readiness: it can also reach Postgres (the LB and compose ask).
  // version: the release this process runs (APP_VERSION, set by blue-green deploys), so an operator
  // sees which colour answers with what.
  app.get('/healthz', (_request, response) => {
    response.json({ status: 'ok', version: process.env.APP_VERSION ?? 'unversioned' });
  });
  app.get('/readyz', async (_request, response) => {
    const ready = await databaseAnswers(db);
    response
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'unavailable', database: ready ? 'ok' : 'unreachable' });
  });

  const document = openApiDocument();
  app.get('/api/openapi.json', (_request, response) => {
    response.json(document);
  });

  // Everything else under /api/ needs a Firebase ID token.
  app.use('/api', authenticate(auth, db));
  // Writes are limited per user (the UID authentication just set), before any route runs.
  if (writeLimiter)
    app.use(
      '/api',
      writeLimit(writeLimiter, () => metrics.writeLimited()),
    );
  // Routers carry full paths, so a route's pattern (the metrics label) is complete.
  app.use(refereeRoutes(new RefereeRepository(db), auth));
  app.use(competitionRoutes(new CompetitionRepository(db)));
  app.use(matchRoutes(new MatchService(db, new MatchRepository(db), mirrorChanged)));

  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
