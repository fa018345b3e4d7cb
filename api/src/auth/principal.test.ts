import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeToken, shared } from './principal.js';

// 2026-12-02T10:00:00Z, in seconds, as auth_time is.
const signedInAt = Date.UTC(2026, 11, 2, 10, 0, 0) / 1000;
const token = { auth_time: signedInAt };

describe('judgeToken', () => {
  it('when the user is enabled and never revoked, then the role comes from the live claims', () => {
    assert.deepEqual(
      judgeToken(token, { disabled: false, tokensValidAfterTime: undefined, customClaims: { role: 'admin' } }),
      { role: 'admin' },
    );
    assert.deepEqual(judgeToken(token, { disabled: false, tokensValidAfterTime: undefined, customClaims: undefined }), {
      role: 'referee',
    });
  });

  it('when an admin was demoted, then their token is a referee’s, whatever claim it still carries', () => {
    assert.deepEqual(
      judgeToken(token, { disabled: false, tokensValidAfterTime: undefined, customClaims: { role: 'referee' } }),
      { role: 'referee' },
    );
  });

  it('when the user is disabled, then the token is refused', () => {
    assert.deepEqual(
      judgeToken(token, { disabled: true, tokensValidAfterTime: undefined, customClaims: { role: 'admin' } }),
      { refused: 'user_disabled' },
    );
  });

  it('when tokens were revoked after the sign-in, then the token is refused; a sign-in after the revocation is accepted', () => {
    const revokedAt = 'Wed, 02 Dec 2026 10:00:01 GMT';
    assert.deepEqual(judgeToken(token, { disabled: false, tokensValidAfterTime: revokedAt, customClaims: undefined }), {
      refused: 'token_revoked',
    });
    assert.deepEqual(
      judgeToken(
        { auth_time: signedInAt + 1 },
        { disabled: false, tokensValidAfterTime: revokedAt, customClaims: undefined },
      ),
      { role: 'referee' },
    );
    assert.deepEqual(
      judgeToken(token, {
        disabled: false,
        tokensValidAfterTime: 'Wed, 02 Dec 2026 09:59:59 GMT',
        customClaims: undefined,
      }),
      { role: 'referee' },
    );
  });
});

describe('shared: lookups of one key under way at once', () => {
  it('when two callers ask for one key at once, then one lookup answers both; a later caller gets a new lookup', async () => {
    const calls: string[] = [];
    const lookup = shared(async (key: string) => {
      const call = calls.push(key);
      await Promise.resolve();
      return `${key}#${call}`;
    });
    assert.deepEqual(await Promise.all([lookup('a'), lookup('a'), lookup('b')]), ['a#1', 'a#1', 'b#2']);
    assert.equal(await lookup('a'), 'a#3', 'nothing is kept once the answer is in');
    assert.deepEqual(calls, ['a', 'b', 'a']);
  });

  it('when the lookup fails, then every caller under way gets the error, and the next caller asks again', async () => {
    let attempt = 0;
    const lookup = shared(async () => {
      attempt += 1;
      await Promise.resolve();
      if (attempt === 1) throw new Error('unreachable');
      return 'ok';
    });
    const results = await Promise.allSettled([lookup('a'), lookup('a')]);
    assert.deepEqual(
      results.map((result) => result.status),
      ['rejected', 'rejected'],
    );
    assert.equal(await lookup('a'), 'ok');
  });
});
