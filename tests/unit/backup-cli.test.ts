import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBackups, parseInfo } from '../../provision/backup/info.js';
import { parseCommand, UsageError } from '../../provision/backup/options.js';
import { parseTarget, planRestore, RefusedError } from '../../provision/backup/restore-plan.js';

/** `pgbackrest info --output=json` as 2.55 prints it (trimmed to what the CLI reads, plus some it ignores). */
const infoJson = JSON.stringify([
  {
    name: 'refereezy',
    cipher: 'aes-256-cbc',
    status: { code: 0, message: 'ok', lock: { backup: { held: false } } },
    repo: [
      { key: 1, cipher: 'aes-256-cbc', status: { code: 0, message: 'ok' } },
      { key: 2, cipher: 'aes-256-cbc', status: { code: 0, message: 'ok' } },
    ],
    archive: [
      {
        database: { id: 1, 'repo-key': 1 },
        id: '17-1',
        min: '000000010000000000000001',
        max: '00000001000000000000000A',
      },
      {
        database: { id: 1, 'repo-key': 2 },
        id: '17-1',
        min: '000000010000000000000001',
        max: '00000001000000000000000A',
      },
    ],
    backup: [
      {
        label: '20261201-010000F',
        type: 'full',
        timestamp: { start: 1796086800, stop: 1796086830 },
        database: { id: 1, 'repo-key': 1 },
        info: { size: 31_000_000, delta: 31_000_000, repository: { size: 3_700_000, delta: 3_700_000 } },
        error: false,
      },
      {
        label: '20261201-010000F_20261202-010000D',
        type: 'diff',
        timestamp: { start: 1796173200, stop: 1796173210 },
        database: { id: 1, 'repo-key': 1 },
        info: { size: 31_100_000, delta: 200_000, repository: { size: 3_710_000, delta: 40_000 } },
        error: false,
      },
      {
        label: '20261201-010100F',
        type: 'full',
        timestamp: { start: 1796086860, stop: 1796086890 },
        database: { id: 1, 'repo-key': 2 },
        info: { size: 31_000_000, delta: 31_000_000, repository: { size: 3_700_000, delta: 3_700_000 } },
        error: false,
      },
    ],
  },
]);
const info = parseInfo(infoJson);
const now = new Date('2026-12-02T12:00:00Z');

describe('backup CLI: input', () => {
  const cases: [string, string[], RegExp | Record<string, unknown>][] = [
    [
      'when backups is asked for, then it parses with no option',
      ['replica', 'backups'],
      { action: 'backups', target: 'replica' },
    ],
    ['when backup has no type, then it is a differential', ['prod', 'backup'], { action: 'backup', type: 'diff' }],
    [
      'when restore has a zoned time, then it is the same moment in UTC with microseconds',
      ['replica', 'restore', '--to', '2026-12-02T02:30:00.123456+01:00'],
      { action: 'restore', into: 'scratch' },
    ],
    ['when restore has no --to, then it is refused', ['replica', 'restore'], /restore needs --to/],
    [
      'when --into is neither scratch nor in-place, then it is refused',
      ['replica', 'restore', '--to', 'latest', '--into', 'elsewhere'],
      /--into must be scratch or in-place/,
    ],
    [
      'when --set is not a backup label, then it is refused',
      ['replica', 'restore', '--to', 'latest', '--set', 'yesterday'],
      /--set is not a backup label/,
    ],
    [
      'when an option belongs to another action, then it is refused',
      ['replica', 'backups', '--to', 'latest'],
      /--to is only for restore/,
    ],
    ['when the action is unknown, then it is refused', ['replica', 'rewind'], /unknown action "rewind"/],
    [
      'when the time has no zone, then it is refused',
      ['replica', 'restore', '--to', '2026-12-02 01:00:00'],
      /is not a time: give "latest" or an ISO 8601 time with its zone/,
    ],
    [
      'when the time is not a date, then it is refused',
      ['replica', 'restore', '--to', '2026-02-30T01:00:00Z'],
      /is not a time/,
    ],
    ['when an option is unknown, then it is refused', ['replica', 'backups', '--force'], /Unknown option '--force'/],
  ];
  for (const [name, args, expected] of cases) {
    it(name, () => {
      if (expected instanceof RegExp)
        assert.throws(
          () => parseCommand(args),
          (error: unknown) => error instanceof UsageError && expected.test(error.message),
        );
      else {
        const parsed = parseCommand(args) as unknown as Record<string, unknown>;
        for (const [key, value] of Object.entries(expected)) assert.equal(parsed[key], value, key);
      }
    });
  }

  it('when a zoned time is parsed, then PostgreSQL gets it in UTC with its microseconds', () => {
    assert.deepEqual(parseTarget('2026-12-02T02:30:00.123456+01:00'), {
      kind: 'time',
      at: new Date('2026-12-02T01:30:00.123Z'),
      pg: '2026-12-02 01:30:00.123456+00',
    });
    assert.deepEqual(parseTarget('latest'), { kind: 'latest' });
  });
});

describe('backup CLI: the restore plan (checked before anything runs)', () => {
  const time = (iso: string) => parseTarget(iso);
  it('when the time is inside the window, then db-backup gets the UTC target', () => {
    assert.deepEqual(planRestore({ target: time('2026-12-02T10:00:00Z') }, info, now), [
      '--target',
      '2026-12-02 10:00:00.000+00',
    ]);
  });
  it('when latest from repo 2, then the repo is passed on', () => {
    assert.deepEqual(planRestore({ target: { kind: 'latest' }, repo: 2 }, info, now), [
      '--repo',
      '2',
      '--target',
      'latest',
    ]);
  });
  const refused: [string, Parameters<typeof planRestore>[0], RegExp][] = [
    [
      'when the time is in the future, then it is refused with the window',
      { target: time('2026-12-03T00:00:00Z') },
      /is in the future \(now: 2026-12-02T12:00:00.000Z\); the window:\n {2}repo1: recoverable from 2026-12-01T01:00:30Z to now/,
    ],
    [
      'when the time is before the oldest backup, then it is refused with the window',
      { target: time('2026-11-01T00:00:00Z') },
      /is outside the recoverable window:\n {2}repo1: recoverable from 2026-12-01T01:00:30Z to now \(latest archived WAL 00000001000000000000000A\)\n {2}repo2: recoverable from 2026-12-01T01:01:30Z/,
    ],
    [
      'when the set is unknown, then the sets are listed',
      { target: { kind: 'latest' }, set: '20200101-000000F' },
      /no backup set 20200101-000000F; the sets:\n {2}20261201-010000F \(repo1, full\)/,
    ],
    [
      'when the set ends after the time, then it is refused',
      { target: time('2026-12-01T12:00:00Z'), set: '20261201-010000F_20261202-010000D' },
      /ends at 2026-12-02T01:00:10.000Z, after --to/,
    ],
    [
      'when the set is in the other repo, then it is unknown there',
      { target: { kind: 'latest' }, set: '20261201-010100F', repo: 1 },
      /no backup set 20261201-010100F in repo1/,
    ],
    [
      'when the repo does not exist, then it is refused',
      { target: { kind: 'latest' }, repo: 3 },
      /repo3 is not configured/,
    ],
  ];
  for (const [name, request, expected] of refused) {
    it(name, () =>
      assert.throws(
        () => planRestore(request, info, now),
        (error: unknown) => error instanceof RefusedError && expected.test(error.message),
      ),
    );
  }
  it('when nothing was ever backed up, then nothing can be restored', () => {
    const empty = parseInfo(
      JSON.stringify([
        {
          name: 'refereezy',
          status: { code: 2, message: 'no valid backups' },
          repo: [{ key: 1, status: { code: 2, message: 'no valid backups' } }],
          backup: [],
          archive: [],
        },
      ]),
    );
    assert.throws(
      () => planRestore({ target: { kind: 'latest' } }, empty, now),
      /nothing to restore from:\n {2}repo1: no complete backup/,
    );
  });
  it('when listed, then each repo shows its backups with sizes and its window', () => {
    const text = formatBackups(info, { 1: 'eu-west-1', 2: 'eu-central-1' });
    assert.match(
      text,
      /repo1 \(eu-west-1\): ok\n {2}20261201-010000F +full 2026-12-01T01:00:00Z → 2026-12-01T01:00:30Z {2}database 29\.6 MiB, stored 3\.5 MiB/,
    );
    assert.match(text, /repo2 \(eu-central-1\): ok\n.*\n {2}repo2: recoverable from 2026-12-01T01:01:30Z to now/);
  });
});
