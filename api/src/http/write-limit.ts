import type { RequestHandler } from 'express';
import { LRUCache } from 'lru-cache';
import { HttpError } from './http-error.js';

/** A token bucket's settings: `burst` writes at once, refilled at `perSecond` a second. */
export interface WriteLimitSettings {
  /** The bucket's size: writes a user may make back to back. 0 turns the limit off. */
  burst: number;
  /** Tokens added a second (a user's sustained write rate). */
  perSecond: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, in ms (the clock the limiter was given). */
  at: number;
}

export type WriteDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

/**
 * A token bucket per user (their Firebase UID): each write takes a token; tokens come back at
 * `perSecond` up to `burst`. Pure apart from the clock it is given, so tests drive time.
 *
 * Per API process: with N API hosts behind the load balancer (round robin), a user's sustained
 * limit is up to N × perSecond. The buckets are bounded (least recently used dropped first): a
 * dropped bucket was idle long enough to be full again, so nothing is forgiven early.
 */
export class WriteLimiter {
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(
    readonly settings: WriteLimitSettings,
    private readonly now: () => number = Date.now,
  ) {
    if (!(settings.burst >= 0) || !(settings.perSecond > 0))
      throw new RangeError(
        `write limit: burst must be ≥ 0 and perSecond > 0 (got ${settings.burst}, ${settings.perSecond})`,
      );
    // A bucket idle for burst/perSecond seconds is full, the same as no bucket: keep it no longer.
    const fullAfterMs = Math.ceil((settings.burst / settings.perSecond) * 1000) + 1000;
    this.buckets = new LRUCache<string, Bucket>({ max: 100_000, ttl: fullAfterMs, ttlAutopurge: false });
  }

  get enabled(): boolean {
    return this.settings.burst > 0;
  }

  /** Takes one token from `user`'s bucket if there is one; else says when there will be. */
  take(user: string): WriteDecision {
    const { burst, perSecond } = this.settings;
    if (burst === 0) return { allowed: true, remaining: Number.POSITIVE_INFINITY };
    const now = this.now();
    const bucket = this.buckets.get(user) ?? { tokens: burst, at: now };
    const tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * perSecond);
    if (tokens >= 1) {
      this.buckets.set(user, { tokens: tokens - 1, at: now });
      return { allowed: true, remaining: Math.floor(tokens - 1) };
    }
    this.buckets.set(user, { tokens, at: now });
    // Whole seconds, as Retry-After takes them, rounded up so a client that waits is let in.
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perSecond)) };
  }
}

const writeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The per-user limit on the API's write routes: after authentication (the UID is known), before
 * the route. A write over the limit gets 429 with Retry-After, and the route never runs.
 */
export function writeLimit(limiter: WriteLimiter, onLimited: () => void = () => undefined): RequestHandler {
  return (request, response, next) => {
    if (!limiter.enabled || !writeMethods.has(request.method)) {
      next();
      return;
    }
    const decision = limiter.take(request.principal.uid);
    if (decision.allowed) {
      next();
      return;
    }
    onLimited();
    response.setHeader('Retry-After', String(decision.retryAfterSeconds));
    throw new HttpError(
      429,
      'write_rate_limited',
      `too many writes from this user: retry in ${decision.retryAfterSeconds} s`,
    );
  };
}
