import express, { type Express } from 'express';
import { databaseAnswers, type Database } from './db.js';
import { errorHandler, notFound } from './http/error-handler.js';
import type { Logger } from './logger.js';
import { CompetitionRepository } from './competitions/competition-repository.js';
import { competitionRoutes } from './competitions/competition-routes.js';
import { MatchRepository } from './matches/match-repository.js';
import { matchRoutes } from './matches/match-routes.js';
import { RefereeRepository } from './referees/referee-repository.js';
import { refereeRoutes } from './referees/referee-routes.js';

export interface AppDependencies {
  db: Database;
  logger: Logger;
}

export function createApp({ db, logger }: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  // The CDN and the LB sit in front: trust their X-Forwarded-* for the client address.
  app.set('trust proxy', 'loopback, uniquelocal');
  app.use(express.json({ limit: '16kb' }));

  // Liveness: the process answers. Readiness: it can also reach Postgres (the LB and compose ask).
  app.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });
  app.get('/readyz', async (_request, response) => {
    const ready = await databaseAnswers(db);
    response.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', database: ready ? 'ok' : 'unreachable' });
  });

  app.use('/api/referees', refereeRoutes(new RefereeRepository(db)));
  app.use('/api/competitions', competitionRoutes(new CompetitionRepository(db)));
  app.use('/api/matches', matchRoutes(new MatchRepository(db)));

  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
