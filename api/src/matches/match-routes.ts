import { Router, type Request } from 'express';
import { requireAdmin } from '../auth/principal.js';
import { HttpError } from '../http/http-error.js';
import { parseRequest } from '../http/validate.js';
import type { MatchService } from './match-service.js';
import {
  AssignOfficialSchema,
  IdempotencyKeySchema,
  mayAccess,
  MatchIdSchema,
  MatchListQuerySchema,
  NewMatchEventSchema,
  NewMatchReportSchema,
  NewMatchSchema,
  OfficialParamsSchema,
  StatusChangeSchema,
  type Match,
  type MatchAccess,
} from './match.js';

const refusal: Record<MatchAccess, string> = {
  view: 'only the match officials and admins see this match',
  officiate: "only the match's referee and admins run this match",
  report: "only the match's referee reports on it",
};

export function matchRoutes(matches: MatchService): Router {
  const router = Router();

  /** The match named by the path, once the caller is allowed `access` to it (403 otherwise). */
  async function matchFor(request: Request, access: MatchAccess): Promise<Match> {
    const { id } = parseRequest(request, 'params', MatchIdSchema);
    const match = await matches.get(id);
    if (!mayAccess(request.principal, match.officials, access)) throw new HttpError(403, 'forbidden', refusal[access]);
    return match;
  }

  router.get('/api/matches', async (request, response) => {
    const query = parseRequest(request, 'query', MatchListQuerySchema);
    const { role, refereeId } = request.principal;
    if (role !== 'admin') {
      // A referee lists their own matches: the filter is theirs, whatever was asked.
      if (refereeId === null) throw new HttpError(403, 'forbidden', 'this user is not linked to a referee');
      if (query.refereeId !== undefined && query.refereeId !== refereeId)
        throw new HttpError(403, 'forbidden', 'a referee sees only their own matches');
      query.refereeId = refereeId;
    }
    response.json({ items: await matches.list(query), limit: query.limit, offset: query.offset });
  });

  router.post('/api/matches', requireAdmin, async (request, response) => {
    const match = await matches.create(parseRequest(request, 'body', NewMatchSchema));
    response.status(201).location(`/api/matches/${match.id}`).json(match);
  });

  router.get('/api/matches/:id', async (request, response) => {
    response.json(await matchFor(request, 'view'));
  });

  router.post('/api/matches/:id/status', async (request, response) => {
    const match = await matchFor(request, 'officiate');
    const { status } = parseRequest(request, 'body', StatusChangeSchema);
    response.json(await matches.changeStatus(match.id, status));
  });

  router.put('/api/matches/:id/officials/:role', requireAdmin, async (request, response) => {
    const { id, role } = parseRequest(request, 'params', OfficialParamsSchema);
    const { refereeId } = parseRequest(request, 'body', AssignOfficialSchema);
    response.json(await matches.assignOfficial(id, role, refereeId));
  });

  router.get('/api/matches/:id/events', async (request, response) => {
    const match = await matchFor(request, 'view');
    response.json({ items: await matches.listEvents(match.id) });
  });

  router.post('/api/matches/:id/events', async (request, response) => {
    const match = await matchFor(request, 'officiate');
    const key = IdempotencyKeySchema.safeParse(request.get('idempotency-key'));
    if (!key.success) {
      throw new HttpError(400, 'validation_failed', 'invalid headers.idempotency-key', [
        { field: 'headers.idempotency-key', message: key.error.issues[0]?.message ?? 'invalid' },
      ]);
    }
    const event = parseRequest(request, 'body', NewMatchEventSchema);
    const { event: recorded, replayed } = await matches.recordEvent(match.id, key.data, event, request.principal);
    response
      .status(replayed ? 200 : 201)
      .set('Idempotent-Replayed', String(replayed))
      .json(recorded);
  });

  router.put('/api/matches/:id/report', async (request, response) => {
    const match = await matchFor(request, 'report');
    const report = parseRequest(request, 'body', NewMatchReportSchema);
    response.status(201).json(await matches.submitReport(match.id, request.principal.refereeId ?? 0, report));
  });

  router.get('/api/matches/:id/report', async (request, response) => {
    const match = await matchFor(request, 'view');
    response.json(await matches.getReport(match.id));
  });

  return router;
}
