import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canMoveTo,
  canRecordEvents,
  canSubmitReport,
  matchStatuses,
  mayAccess,
  NewMatchEventSchema,
  sameEvent,
  type MatchAccess,
  type MatchEvent,
} from './match.js';

describe('match status rules', () => {
  it('allows exactly scheduled → live and live → finished', () => {
    const allowed = matchStatuses.flatMap((from) =>
      matchStatuses.filter((to) => canMoveTo(from, to)).map((to) => `${from}→${to}`),
    );
    assert.deepEqual(allowed, ['scheduled→live', 'live→finished']);
  });

  it('takes events only while live, and the report only once finished', () => {
    assert.deepEqual(matchStatuses.filter(canRecordEvents), ['live']);
    assert.deepEqual(matchStatuses.filter(canSubmitReport), ['finished']);
  });
});

describe('match events', () => {
  const stored: MatchEvent = {
    id: 1,
    matchId: 1,
    kind: 'goal',
    period: 2,
    clockSeconds: 4000,
    team: 'home',
    player: '10 Messi',
    playerOff: null,
    recordedBy: 7,
    recordedAt: '2026-12-05T16:07:00Z',
  };

  it('recognises a retry of the same event, and not a different event under the same key', () => {
    assert.equal(
      sameEvent(stored, { kind: 'goal', period: 2, clockSeconds: 4000, team: 'home', player: '10 Messi' }),
      true,
    );
    assert.equal(
      sameEvent(stored, { kind: 'goal', period: 2, clockSeconds: 4001, team: 'home', player: '10 Messi' }),
      false,
    );
    assert.equal(
      sameEvent(stored, { kind: 'goal', period: 2, clockSeconds: 4000, team: 'away', player: '10 Messi' }),
      false,
    );
    assert.equal(sameEvent(stored, { kind: 'period_end', period: 2, clockSeconds: 4000 }), false);
  });

  it('requires what each kind needs and refuses what it does not have', () => {
    const valid = [
      { kind: 'period_start', period: 1, clockSeconds: 0 },
      { kind: 'red_card', period: 1, clockSeconds: 10, team: 'away', player: '5' },
      { kind: 'substitution', period: 2, clockSeconds: 3000, team: 'home', player: '12', playerOff: '7' },
    ];
    const invalid = [
      { kind: 'period_start', period: 1, clockSeconds: 0, team: 'home' },
      { kind: 'goal', period: 1, clockSeconds: 10, player: '9' },
      { kind: 'goal', period: 6, clockSeconds: 10, team: 'home', player: '9' },
      { kind: 'goal', period: 1, clockSeconds: -1, team: 'home', player: '9' },
      { kind: 'substitution', period: 2, clockSeconds: 3000, team: 'home', player: '12' },
      { kind: 'penalty_shootout', period: 5, clockSeconds: 0 },
    ];
    for (const event of valid) assert.equal(NewMatchEventSchema.safeParse(event).success, true, JSON.stringify(event));
    for (const event of invalid)
      assert.equal(NewMatchEventSchema.safeParse(event).success, false, JSON.stringify(event));
  });
});

describe('who may access a match', () => {
  const officials = [
    { role: 'referee' as const, refereeId: 1 },
    { role: 'assistant_1' as const, refereeId: 2 },
  ];
  const accesses: MatchAccess[] = ['view', 'officiate', 'report'];
  const allowed = (caller: { role: 'admin' | 'referee'; refereeId: number | null }) =>
    accesses.filter((access) => mayAccess(caller, officials, access));

  it('gives the referee everything, an assistant the view, an admin all but the report, others nothing', () => {
    assert.deepEqual(allowed({ role: 'referee', refereeId: 1 }), ['view', 'officiate', 'report']);
    assert.deepEqual(allowed({ role: 'referee', refereeId: 2 }), ['view']);
    assert.deepEqual(allowed({ role: 'admin', refereeId: null }), ['view', 'officiate']);
    assert.deepEqual(allowed({ role: 'referee', refereeId: 3 }), []);
    assert.deepEqual(allowed({ role: 'referee', refereeId: null }), []);
  });
});
