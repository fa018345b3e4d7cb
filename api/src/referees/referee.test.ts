import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NewRefereeSchema, RefereeIdSchema, RefereeListQuerySchema } from './referee.js';

describe('referee input rules', () => {
  it('when a registration is valid, then the name is trimmed', () => {
    const referee = NewRefereeSchema.parse({
      name: '  Howard Webb ',
      email: 'hw@example.org',
      licenceLevel: 'international',
    });
    assert.equal(referee.name, 'Howard Webb');
  });

  it('when a registration carries an unknown field, an empty name or a bad email, then each is rejected', () => {
    const cases = [
      { name: 'A', email: 'a@example.org', licenceLevel: 'regional', role: 'admin' },
      { name: '   ', email: 'a@example.org', licenceLevel: 'regional' },
      { name: 'A', email: 'a@', licenceLevel: 'regional' },
      { name: 'A', email: 'a@example.org', licenceLevel: 'galactic' },
      { name: 'x'.repeat(121), email: 'a@example.org', licenceLevel: 'regional' },
    ];
    for (const input of cases)
      assert.equal(NewRefereeSchema.safeParse(input).success, false, JSON.stringify(input).slice(0, 80));
  });

  it('when paging is not given, then 20 from the start; out-of-range paging is rejected', () => {
    assert.deepEqual(RefereeListQuerySchema.parse({}), { limit: 20, offset: 0 });
    assert.deepEqual(RefereeListQuerySchema.parse({ limit: '5', offset: '10' }), { limit: 5, offset: 10 });
    assert.equal(RefereeListQuerySchema.safeParse({ limit: '0' }).success, false);
    assert.equal(RefereeListQuerySchema.safeParse({ limit: '101' }).success, false);
    assert.equal(RefereeListQuerySchema.safeParse({ offset: '-1' }).success, false);
  });

  it('when an id is not a positive integer, then it is rejected', () => {
    for (const id of ['0', '-3', '1.5', 'abc', '9007199254740993'])
      assert.equal(RefereeIdSchema.safeParse({ id }).success, false, id);
    assert.deepEqual(RefereeIdSchema.parse({ id: '42' }), { id: 42 });
  });
});
