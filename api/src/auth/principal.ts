import type { RequestHandler } from 'express';
import type { Auth, DecodedIdToken } from 'firebase-admin/auth';
import { LRUCache } from 'lru-cache';
import type { Database } from '../db.js';
import { HttpError } from '../http/http-error.js';
import { TimeoutError, withTimeout } from '../timeout.js';

/** Who is calling: an admin, or a referee (who may act on their own matches only). */
export interface Principal {
  uid: string;
  role: 'admin' | 'referee';
  /** The referee record linked to this Firebase user, when there is one. */
  refereeId: number | null;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal: Principal;
  }
}

const bearer = /^Bearer ([\w-]+\.[\w-]*\.[\w-]*)$/;
// firebase-admin's codes for "the token is fine but we cannot check it now".
const unavailable = new Set(['auth/internal-error', 'app/network-error', 'app/network-timeout']);

/**
 * Verified tokens, kept for at most a minute (and never past their own expiry). A signature does not
 * change, so this only saves work: in production verification is local anyway, but against the Auth
 * emulator firebase-admin asks the emulator about every token, which would set the API's pace.
 */
function verifiedTokens(auth: Auth) {
  const cache = new LRUCache<string, DecodedIdToken>({ max: 10_000, ttl: 60_000 });
  return async (token: string): Promise<DecodedIdToken> => {
    const cached = cache.get(token);
    if (cached && cached.exp * 1000 > Date.now()) return cached;
    // Bounded: with Auth unreachable the caller gets a 503 to retry, not a hung request.
    const decoded = await withTimeout(auth.verifyIdToken(token), 5_000, 'Firebase Auth');
    cache.set(token, decoded, { ttl: Math.max(0, Math.min(60_000, decoded.exp * 1000 - Date.now())) });
    return decoded;
  };
}

/**
 * Verifies the Firebase ID token in `Authorization: Bearer …` and sets request.principal. The role
 * comes from the token's custom claim `role` (set by an admin with the Admin SDK); the referee
 * from the referee record that names the user's uid.
 */
export function authenticate(auth: Auth, db: Database): RequestHandler {
  const verify = verifiedTokens(auth);
  return async (request, response, next) => {
    const match = bearer.exec(request.get('authorization') ?? '');
    if (!match?.[1]) {
      response.setHeader('WWW-Authenticate', 'Bearer realm="refereezy"');
      throw new HttpError(401, 'unauthenticated', 'a Firebase ID token is required: Authorization: Bearer <token>');
    }
    let uid: string;
    let role: Principal['role'];
    try {
      const token = await verify(match[1]);
      uid = token.uid;
      role = token['role'] === 'admin' ? 'admin' : 'referee';
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (error instanceof TimeoutError || unavailable.has(code)) throw new HttpError(503, 'auth_unavailable', 'the token cannot be verified now; retry shortly');
      response.setHeader('WWW-Authenticate', 'Bearer realm="refereezy", error="invalid_token"');
      throw new HttpError(401, 'invalid_token', 'the ID token is invalid or expired');
    }
    const { rows } = await db.query<{ id: string }>('SELECT id FROM referee WHERE firebase_uid = $1', [uid]);
    request.principal = { uid, role, refereeId: rows[0] ? Number(rows[0].id) : null };
    next();
  };
}

export const requireAdmin: RequestHandler = (request, _response, next) => {
  if (request.principal.role !== 'admin') throw new HttpError(403, 'forbidden', 'this needs the admin role');
  next();
};
