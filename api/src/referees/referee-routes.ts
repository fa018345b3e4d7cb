import { Router, type Request } from 'express';
import type { Auth } from 'firebase-admin/auth';
import { HttpError } from '../http/http-error.js';
import { parseRequest } from '../http/validate.js';
import { requireAdmin } from '../auth/principal.js';
import { TimeoutError, withTimeout } from '../timeout.js';
import { RefereeTakenError, type RefereeRepository } from './referee-repository.js';
import {
  NewRefereeSchema,
  RefereeIdSchema,
  RefereeListQuerySchema,
  summary,
  type Referee,
  type RefereeVisibility,
} from './referee.js';

/** Whom the caller may see; a signed-in user linked to no referee (and no admin) sees nobody. */
function visibility(request: Request): RefereeVisibility {
  const { role, refereeId } = request.principal;
  if (role === 'admin') return { all: true };
  if (refereeId === null) throw new HttpError(403, 'forbidden', 'this user is not linked to a referee');
  return { all: false, viewer: refereeId };
}

/** Admins see the whole record; a referee sees no email and no Firebase uid, their own included. */
const shown = (request: Request, referee: Referee) => (request.principal.role === 'admin' ? referee : summary(referee));

/**
 * Makes Firebase Auth agree with the referee's state: deactivated → the user is disabled and their
 * refresh tokens revoked (no new ID token, and the API refuses the ones they hold); active → enabled.
 * A user that no longer exists in Firebase has nothing to update.
 */
async function syncFirebaseUser(auth: Auth, referee: Referee): Promise<void> {
  if (referee.firebaseUid === null) return;
  const uid = referee.firebaseUid;
  try {
    await withTimeout(auth.updateUser(uid, { disabled: !referee.active }), 5_000, 'Firebase Auth');
    if (!referee.active) await withTimeout(auth.revokeRefreshTokens(uid), 5_000, 'Firebase Auth');
  } catch (error) {
    if ((error as { code?: string }).code === 'auth/user-not-found') return;
    const cause = error instanceof TimeoutError ? error.message : ((error as { code?: string }).code ?? 'an error');
    // The database already holds the new state (and the API enforces it): a retry completes the rest.
    throw new HttpError(
      503,
      'auth_unavailable',
      `referee ${referee.id} is ${referee.active ? 'active' : 'deactivated'} in the API, but Firebase Auth was not updated (${cause}); retry`,
    );
  }
}

export function refereeRoutes(referees: RefereeRepository, auth: Auth): Router {
  const router = Router();

  router.get('/api/referees', async (request, response) => {
    const query = parseRequest(request, 'query', RefereeListQuerySchema);
    const items = await referees.list(query, visibility(request));
    response.json({ items: items.map((referee) => shown(request, referee)), limit: query.limit, offset: query.offset });
  });

  router.get('/api/referees/:id', async (request, response) => {
    const { id } = parseRequest(request, 'params', RefereeIdSchema);
    const allowed = visibility(request);
    const referee = await referees.findById(id, allowed);
    if (referee) {
      response.json(shown(request, referee));
      return;
    }
    if (!allowed.all && (await referees.exists(id)))
      throw new HttpError(403, 'forbidden', 'a referee sees themselves and the officials of their own matches only');
    throw new HttpError(404, 'not_found', `referee ${id} does not exist`);
  });

  router.post('/api/referees', requireAdmin, async (request, response) => {
    const newReferee = parseRequest(request, 'body', NewRefereeSchema);
    try {
      const referee = await referees.create(newReferee);
      response.status(201).location(`/api/referees/${referee.id}`).json(referee);
    } catch (error) {
      if (error instanceof RefereeTakenError) {
        throw new HttpError(
          409,
          `${error.field === 'email' ? 'email' : 'firebase_uid'}_taken`,
          `a referee with this ${error.field} already exists`,
          [{ field: `body.${error.field}`, message: 'already registered' }],
        );
      }
      throw error;
    }
  });

  // Deactivation is a resource: POST creates it (idempotent), DELETE removes it (reactivates).
  for (const [method, active] of [
    ['post', false],
    ['delete', true],
  ] as const) {
    router[method]('/api/referees/:id/deactivation', requireAdmin, async (request, response) => {
      const { id } = parseRequest(request, 'params', RefereeIdSchema);
      // The database first: from this commit on, every API replica refuses the referee's requests.
      const referee = await referees.setActive(id, active);
      if (!referee) throw new HttpError(404, 'not_found', `referee ${id} does not exist`);
      await syncFirebaseUser(auth, referee);
      request.log.info({ 'referee.id': id, active }, active ? 'referee reactivated' : 'referee deactivated');
      response.json(referee);
    });
  }

  return router;
}
