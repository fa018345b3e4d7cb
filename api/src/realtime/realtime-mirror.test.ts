import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeoutError } from '../timeout.js';
import { isRejection, MirrorRejection } from './realtime-mirror.js';

describe('isRejection', () => {
  it('when Firestore refuses the write itself, then it is a rejection (counted towards the dead letter)', () => {
    for (const code of [3, 9, 11])
      assert.equal(isRejection(Object.assign(new Error('refused'), { code })), true, String(code));
    assert.equal(isRejection(new MirrorRejection('the client would not build the write')), true);
  });

  it('when Firestore is unreachable, slow or refuses the credentials, then it is an outage (retried forever, never dead-lettered)', () => {
    for (const code of [1, 2, 4, 7, 8, 10, 13, 14, 16])
      assert.equal(isRejection(Object.assign(new Error('failed'), { code })), false, String(code));
    assert.equal(isRejection(new TimeoutError('Firestore batch write: no answer within 5000 ms')), false);
    assert.equal(isRejection(new Error('socket hang up')), false);
    assert.equal(isRejection(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), false);
  });
});
