import { Router } from 'express';
import { HttpError } from '../http/http-error.js';
import { parseRequest } from '../http/validate.js';
import { requireAdmin } from '../auth/principal.js';
import { RefereeTakenError, type RefereeRepository } from './referee-repository.js';
import { NewRefereeSchema, RefereeIdSchema, RefereeListQuerySchema } from './referee.js';

export function refereeRoutes(referees: RefereeRepository): Router {
  const router = Router();

  router.get('/api/referees', async (request, response) => {
    const query = parseRequest(request, 'query', RefereeListQuerySchema);
    response.json({ items: await referees.list(query), limit: query.limit, offset: query.offset });
  });

  router.get('/api/referees/:id', async (request, response) => {
    const { id } = parseRequest(request, 'params', RefereeIdSchema);
    const referee = await referees.findById(id);
    if (!referee) throw new HttpError(404, 'not_found', `referee ${id} does not exist`);
    response.json(referee);
  });

  router.post('/api/referees', requireAdmin, async (request, response) => {
    const newReferee = parseRequest(request, 'body', NewRefereeSchema);
    try {
      const referee = await referees.create(newReferee);
      response.status(201).location(`/api/referees/${referee.id}`).json(referee);
    } catch (error) {
      if (error instanceof RefereeTakenError) {
        throw new HttpError(409, `${error.field === 'email' ? 'email' : 'firebase_uid'}_taken`, `a referee with this ${error.field} already exists`, [
          { field: `body.${error.field}`, message: 'already registered' },
        ]);
      }
      throw error;
    }
  });

  return router;
}
