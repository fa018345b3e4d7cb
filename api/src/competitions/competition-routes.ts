import { Router } from 'express';
import { requireAdmin } from '../auth/principal.js';
import { parseRequest } from '../http/validate.js';
import type { CompetitionRepository } from './competition-repository.js';
import { NewCompetitionSchema } from './competition.js';

export function competitionRoutes(competitions: CompetitionRepository): Router {
  const router = Router();
  router.get('/api/competitions', async (_request, response) => {
    response.json({ items: await competitions.list() });
  });
  router.post('/api/competitions', requireAdmin, async (request, response) => {
    const competition = await competitions.create(parseRequest(request, 'body', NewCompetitionSchema));
    response.status(201).json(competition);
  });
  return router;
}
