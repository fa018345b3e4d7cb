import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriteLimiter } from './write-limit.js';

/** A limiter on a clock the test moves. */
function limiter(burst: number, perSecond: number) {
  const clock = { now: 1_000_000 };
  return { limiter: new WriteLimiter({ burst, perSecond }, () => clock.now), clock };
}

describe('WriteLimiter (a token bucket per user)', () => {
  it('when a user writes `burst` times at once, then all pass and the next is refused with the seconds until a token is back', () => {
    const { limiter: writes } = limiter(3, 0.5);
    assert.deepEqual(
      [1, 2, 3].map(() => writes.take('uid-a').allowed),
      [true, true, true],
    );
    assert.deepEqual(writes.take('uid-a'), { allowed: false, retryAfterSeconds: 2 });
  });

  it('when time passes, then tokens come back at perSecond, never above burst', () => {
    const { limiter: writes, clock } = limiter(2, 1);
    writes.take('uid-a');
    writes.take('uid-a');
    assert.equal(writes.take('uid-a').allowed, false);
    clock.now += 1_000;
    assert.deepEqual(writes.take('uid-a'), { allowed: true, remaining: 0 });
    clock.now += 60_000;
    assert.deepEqual(writes.take('uid-a'), { allowed: true, remaining: 1 }, 'refilled to burst (2), one taken');
  });

  it('when one user is limited, then another user is not', () => {
    const { limiter: writes } = limiter(1, 1);
    assert.equal(writes.take('uid-a').allowed, true);
    assert.equal(writes.take('uid-a').allowed, false);
    assert.equal(writes.take('uid-b').allowed, true);
  });

  it('when a refused user retries after Retry-After, then the write passes', () => {
    const { limiter: writes, clock } = limiter(1, 0.25);
    writes.take('uid-a');
    const refused = writes.take('uid-a');
    if (refused.allowed) assert.fail('the second write passed');
    assert.equal(refused.retryAfterSeconds, 4);
    clock.now += refused.retryAfterSeconds * 1000;
    assert.equal(writes.take('uid-a').allowed, true);
  });

  it('when burst is 0, then the limit is off; when the settings make no sense, then it refuses to start', () => {
    const { limiter: off } = limiter(0, 1);
    assert.equal(off.enabled, false);
    for (let i = 0; i < 1000; i += 1) assert.equal(off.take('uid-a').allowed, true);
    assert.throws(() => new WriteLimiter({ burst: 10, perSecond: 0 }), /perSecond > 0/);
  });
});
