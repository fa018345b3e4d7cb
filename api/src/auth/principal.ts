import type { RequestHandler, Response } from 'express';
import type { Auth, DecodedIdToken, UserRecord } from 'firebase-admin/auth';
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
// firebase-admin's codes for "the token may be fine but we cannot check it now".
const unavailable = new Set(['auth/internal-error', 'app/network-error', 'app/network-timeout']);
const authTimeoutMs = 5_000;

/** The user's live state in Firebase Auth, as far as it decides access. */
export type UserState = Pick<UserRecord, 'disabled' | 'tokensValidAfterTime' | 'customClaims'>;

/** Why a token with a valid signature is still refused. */
export type Refusal = 'user_disabled' | 'token_revoked';

/**
 * Judges a verified token against its user's live record: refused when the user is disabled, or
 * when the token was issued (auth_time) before the user's tokens were revoked — the checks
 * firebase-admin's verifyIdToken(token, checkRevoked=true) makes, on the same record. The role is
 * read from the live record's custom claims, never from the token: a demoted admin's token keeps
 * its stale `role: admin` claim for up to an hour, the record changes at once.
 */
export function judgeToken(
  token: Pick<DecodedIdToken, 'auth_time'>,
  user: UserState,
): { refused: Refusal } | { role: Principal['role'] } {
  if (user.disabled) return { refused: 'user_disabled' };
  if (user.tokensValidAfterTime && token.auth_time * 1000 < new Date(user.tokensValidAfterTime).getTime())
    return { refused: 'token_revoked' };
  return { role: user.customClaims?.['role'] === 'admin' ? 'admin' : 'referee' };
}

/**
 * Tokens whose signature, expiry and project were verified, kept until they expire: a signature
 * never changes, so this cache only saves the verification, never a verdict. Whether the user is
 * still allowed (disabled, revoked, role, deactivated) is looked up on every request.
 */
function verifiedSignatures(auth: Auth) {
  const cache = new LRUCache<string, DecodedIdToken>({ max: 10_000, ttl: 3_600_000 });
  return async (token: string): Promise<DecodedIdToken> => {
    const cached = cache.get(token);
    if (cached && cached.exp * 1000 > Date.now()) return cached;
    const decoded = await withTimeout(auth.verifyIdToken(token), authTimeoutMs, 'Firebase Auth');
    cache.set(token, decoded, { ttl: Math.max(1, decoded.exp * 1000 - Date.now()) });
    return decoded;
  };
}

/**
 * One lookup per key at a time: callers that ask while a lookup for the same key is under way share
 * its answer (a client with 10 connections asks once, not 10 times). Nothing is kept once the answer
 * is in: a caller gets an answer at most one lookup's round trip older than itself, and a change
 * (a revocation, a deactivation) applies from the first lookup that starts after it.
 */
export function shared<V>(lookup: (key: string) => Promise<V>): (key: string) => Promise<V> {
  const inFlight = new Map<string, Promise<V>>();
  return (key) => {
    let answer = inFlight.get(key);
    if (!answer) {
      answer = lookup(key).finally(() => inFlight.delete(key));
      inFlight.set(key, answer);
    }
    return answer;
  };
}

const messages: Record<Refusal | 'invalid_token' | 'account_deactivated', string> = {
  invalid_token: 'the ID token is invalid or expired',
  token_revoked: 'the ID token was revoked: sign in again',
  user_disabled: 'this user is disabled',
  account_deactivated: 'this referee was deactivated by an admin',
};

function refuse(response: Response, code: keyof typeof messages): never {
  response.setHeader('WWW-Authenticate', 'Bearer realm="refereezy", error="invalid_token"');
  throw new HttpError(401, code, messages[code]);
}

/** Firebase Auth errors: unreachable → 503 (retry), anything else → the token is refused. */
function authFailure(response: Response, error: unknown): never {
  const code = (error as { code?: string }).code ?? '';
  if (error instanceof TimeoutError || unavailable.has(code))
    throw new HttpError(503, 'auth_unavailable', 'the token cannot be verified now; retry shortly');
  return refuse(response, 'invalid_token');
}

/**
 * Verifies the Firebase ID token in `Authorization: Bearer …` and sets request.principal. Every
 * request asks Firebase Auth for the user's live record (one lookup, as checkRevoked would make) and
 * the database for the linked referee (lookups of one user under way at once are shared: `shared`),
 * so that revoking, disabling, demoting or deactivating a user takes effect at the next request, not
 * when the token expires.
 */
export function authenticate(auth: Auth, db: Database): RequestHandler {
  const verify = verifiedSignatures(auth);
  const userOf = shared((uid) => withTimeout(auth.getUser(uid), authTimeoutMs, 'Firebase Auth'));
  const refereeOf = shared((uid) =>
    db.query<{ id: string; deactivated: boolean }>(
      'SELECT id, deactivated_at IS NOT NULL AS deactivated FROM referee WHERE firebase_uid = $1',
      [uid],
    ),
  );
  return async (request, response, next) => {
    const match = bearer.exec(request.get('authorization') ?? '');
    if (!match?.[1]) {
      response.setHeader('WWW-Authenticate', 'Bearer realm="refereezy"');
      throw new HttpError(401, 'unauthenticated', 'a Firebase ID token is required: Authorization: Bearer <token>');
    }
    let token: DecodedIdToken;
    try {
      token = await verify(match[1]);
    } catch (error) {
      return authFailure(response, error);
    }
    const [user, referee] = await Promise.all([
      userOf(token.uid).catch((error: unknown) => authFailure(response, error)),
      refereeOf(token.uid),
    ]);
    const verdict = judgeToken(token, user);
    if ('refused' in verdict) return refuse(response, verdict.refused);
    const row = referee.rows[0];
    if (row?.deactivated) return refuse(response, 'account_deactivated');
    request.principal = { uid: token.uid, role: verdict.role, refereeId: row ? Number(row.id) : null };
    next();
  };
}

export const requireAdmin: RequestHandler = (request, _response, next) => {
  if (request.principal.role !== 'admin') throw new HttpError(403, 'forbidden', 'this needs the admin role');
  next();
};
