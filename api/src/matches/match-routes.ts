import { Router } from 'express';
import { HttpError } from '../http/http-error.js';
import { parseRequest } from '../http/validate.js';
import type { MatchRepository } from './match-repository.js';
import {
  AssignOfficialSchema,
  IdempotencyKeySchema,
  MatchIdSchema,
  MatchListQuerySchema,
  NewMatchEventSchema,
  NewMatchReportSchema,
  NewMatchSchema,
  OfficialParamsSchema,
  StatusChangeSchema,
} from './match.js';

export function matchRoutes(matches: MatchRepository): Router {
  const router = Router();

  router.get('/api/matches', async (request, response) => {
    const query = parseRequest(request, 'query', MatchListQuerySchema);
    response.json({ items: await matches.list(query), limit: query.limit, offset: query.offset });
  });

  router.post('/api/matches', async (request, response) => {
    const match = await matches.create(parseRequest(request, 'body', NewMatchSchema));
    response.status(201).location(`/api/matches/${match.id}`).json(match);
  });

  router.get('/api/matches/:id', async (request, response) => {
    const { id } = parseRequest(request, 'params', MatchIdSchema);
    response.json(await matches.get(id));
  });

  router.post('/api/matches/:id/status', async (request, response) => {
    const { id } = parseRequest(request, 'params', MatchIdSchema);
    const { status } = parseRequest(request, 'body', StatusChangeSchema);
    response.json(await matches.changeStatus(id, status));
  });

  router.put('/api/matches/:id/officials/:role', async (request, response) => {
    const { id, role } = parseRequest(request, 'params', OfficialParamsSchema);
    const { refereeId } = parseRequest(request, 'body', AssignOfficialSchema);
    response.json(await matches.assignOfficial(id, role, refereeId));
  });

  router.get('/api/matches/:id/events', async (request, response) => {
    const { id } = parseRequest(request, 'params', MatchIdSchema);
    response.json({ items: await matches.listEvents(id) });
  });

  router.post('/api/matches/:id/events', async (request, response) => {
    const { id } = parseRequest(request, 'params', MatchIdSchema);
    const key = IdempotencyKeySchema.safeParse(request.get('idempotency-key'));
    if (!key.success) {
      throw new HttpError(400, 'validation_failed', 'invalid headers.idempotency-key', [
        { field: 'headers.idempotency-key', message: key.error.issues[0]?.message ?? 'invalid' },
      ]);
    }
    const event = parseRequest(request, 'body', NewMatchEventSchema);
    const { event: recorded, replayed } = await matches.recordEvent(id, key.data, event);
    response
      .status(replayed ? 200 : 201)
      .set('Idempotent-Replayed', String(replayed))
      .json(recorded);
  });

  router.put('/api/matches/:id/report', async (request, response) => {
    const { id } = parseRequest(request, 'params', MatchIdSchema);
    const report = await matches.submitReport(id, parseRequest(request, 'body', NewMatchReportSchema));
    response.status(201).json(report);
  });

  router.get('/api/matches/:id/report', async (request, response) => {
    const { id } = parseRequest(request, 'params', MatchIdSchema);
    response.json(await matches.getReport(id));
  });

  return router;
}
