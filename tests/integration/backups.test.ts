// Backups of the replica's database, against the real db and s3 containers (compose/db, compose/s3)
// and through the operators' CLI (npm run backup -- replica …): point-in-time recovery row for row,
// the store's durability, the second region's repo on its own, a corrupted backup caught by verify
// and refused by restore, retention, and bad input refused with nothing changed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackupStack, type CliResult } from '../support/backup-stack.js';
import { repoRoot } from '../support/paths.js';
import { runbookBlockList } from '../support/runbook-commands.js';

const run = promisify(execFile);

let stack: BackupStack;
let up = false;

function ok(result: CliResult, what: string): string {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stderr}\n${result.stdout}`);
  return result.stdout;
}

/** The committed marker rows, in order. */
async function markers({ scratch = false } = {}): Promise<string[]> {
  const rows = await stack.sql('SELECT name FROM backup_markers ORDER BY id', { scratch });
  return rows === '' ? [] : rows.split('\n');
}

/** Inserts a marker row in its own transaction and returns the server's clock after the commit. */
async function mark(name: string): Promise<string> {
  await stack.sql(`INSERT INTO backup_markers (name) VALUES ('${name}')`);
  return stack.sql(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
}

async function backupsListing(): Promise<string> {
  return ok(await stack.cli(['backups']), 'backups');
}

describe('backups (pgBackRest to S3, the backup CLI)', { timeout: 1_200_000 }, () => {
  before(async () => {
    // The scheduler's first full backup runs; its daily and weekly slots stay out of the way.
    stack = await BackupStack.start(['db', 'node-exporter'], { BACKUP_AT: '23:59', BACKUP_VERIFY_DAY: '0' });
    up = true;
  });

  after(async () => {
    if (!up) return;
    if (process.exitCode) console.error(await stack.logs());
    await stack.down();
  });

  it('when the db starts with empty repos, then its scheduler takes a first full backup to both regions and publishes when', async () => {
    const deadline = Date.now() + 180_000;
    let listing = '';
    while (Date.now() < deadline) {
      const result = await stack.cli(['backups']);
      listing = result.stdout;
      if (
        result.code === 0 &&
        /repo1 \(eu-west-1\)[\s\S]*\d{8}-\d{6}F\s+full[\s\S]*repo2 \(eu-central-1\)[\s\S]*\d{8}-\d{6}F\s+full/.test(
          listing,
        )
      )
        break;
      await sleep(3000);
    }
    assert.match(listing, /repo1 \(eu-west-1\): ok[\s\S]*full[\s\S]*recoverable from/, listing);
    assert.match(listing, /repo2 \(eu-central-1\): ok[\s\S]*full[\s\S]*recoverable from/, listing);
    // What Prometheus scrapes: node_exporter's textfile collector, one series per repo. The scheduler
    // writes it once both backups are done, a moment after the listing can show them.
    const published = [
      /refereezy_backup_last_success_timestamp_seconds\{region="eu-west-1",repo="1"\} \d/,
      /refereezy_backup_last_success_timestamp_seconds\{region="eu-central-1",repo="2"\} \d/,
    ];
    let metrics = '';
    for (const until = Date.now() + 60_000; ;) {
      metrics = await stack.exec('node-exporter', ['curl', '-fsS', 'http://127.0.0.1:9100/metrics']);
      if (published.every((series) => series.test(metrics)) || Date.now() > until) break;
      await sleep(2000);
    }
    for (const series of published) assert.match(metrics, series);
  });

  it('when restored to a time between the commits of t2 and t3, then exactly the rows up to t2 are there', async () => {
    await stack.sql('CREATE TABLE backup_markers (id serial PRIMARY KEY, name text NOT NULL)');
    await mark('t1');
    const afterT2 = await mark('t2');
    await sleep(1100);
    await mark('t3');
    ok(await stack.cli(['restore', '--to', afterT2]), `restore --to ${afterT2}`);
    assert.deepEqual(await markers({ scratch: true }), ['t1', 't2']);
    assert.deepEqual(await markers(), ['t1', 't2', 't3'], 'the primary is untouched by a scratch restore');
  });

  it('when restored to latest, then no committed row is lost', async () => {
    await mark('t4');
    ok(await stack.cli(['restore', '--to', 'latest']), 'restore --to latest');
    assert.deepEqual(await markers({ scratch: true }), ['t1', 't2', 't3', 't4']);
  });

  it("when the runbook's replica commands run, then the primary is back at TARGET: rows after it gone, rows before it kept", async () => {
    const script = runbookBlockList('restore.md', 'replica')
      .map((block) => block.code)
      .join('\n');
    assert.match(script, /--into in-place/);
    const target = await mark('r1');
    await sleep(1100);
    await mark('r2');
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: repoRoot,
      env: { ...stack.env, TARGET: target },
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.match(stdout, /restored in place .* and healthy/);
    assert.deepEqual(await markers(), ['t1', 't2', 't3', 't4', 'r1']);
  });

  it('when the store restarts, then the backups are still there and restorable', async () => {
    // What the archiver still had in flight is in the store first (pgbackrest check): s3rver writes an
    // object in place, so one cut by the restart is left half-written, which real S3 never does. The
    // previous test's in-place restore started a timeline whose history file was still being pushed.
    await stack.exec('db', ['db-backup', 'flush']);
    const listing = await backupsListing();
    await stack.compose(['restart', 's3']);
    await stack.compose(['up', '--detach', '--wait', '--no-deps', 's3']);
    assert.equal(await backupsListing(), listing);
    await mark('t5');
    ok(await stack.cli(['restore', '--to', 'latest', '--repo', '1']), 'restore after the restart');
    assert.deepEqual(await markers({ scratch: true }), ['t1', 't2', 't3', 't4', 'r1', 't5']);
  });

  it('when given bad input, then each is refused with a clear error and nothing changes', async () => {
    const listing = await backupsListing();
    await stack.exec('db', ['db-backup', 'scratch-stop']);
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [
        ['restore', '--to', 'latest', '--set', '20200101-000000F'],
        {},
        /no backup set 20200101-000000F; the sets:\n {2}\d{8}-\d{6}F \(repo1, full\)/,
      ],
      [
        ['restore', '--to', '2099-01-01T00:00:00Z'],
        {},
        /--to 2099-01-01T00:00:00.000Z is in the future \(now: .*\); the window:\n {2}repo1: recoverable from /,
      ],
      [
        ['restore', '--to', 'last tuesday'],
        {},
        /--to "last tuesday" is not a time: give "latest" or an ISO 8601 time with its zone/,
      ],
      [
        ['restore', '--to', '2026-12-02 01:00:00'],
        {},
        /is not a time: give "latest" or an ISO 8601 time with its zone/,
      ],
      [
        ['restore', '--to', '2000-01-01T00:00:00Z'],
        {},
        /is outside the recoverable window:\n {2}repo1: recoverable from \S+ to now/,
      ],
      [['restore', '--to', 'latest', '--repo', '3'], {}, /--repo must be 1 or 2/],
      [['restore', '--to', 'latest'], { BACKUP_CIPHER_PASS: '' }, /BACKUP_CIPHER_PASS is not set .*Nothing was done/],
      [['restore', '--to', 'latest', '--into', 'in-place'], {}, /in-place restore not confirmed .*nothing was done/],
      [['rewind'], {}, /unknown action "rewind"/],
    ];
    for (const [args, env, expected] of cases) {
      const result = await stack.cli(args, env);
      assert.notEqual(result.code, 0, `${args.join(' ')} was accepted:\n${result.stdout}`);
      assert.match(result.stderr, expected, args.join(' '));
    }
    assert.equal(await backupsListing(), listing);
    assert.equal(
      await stack
        .exec('db', ['sh', '-c', 'test -e /var/lib/postgresql/scratch && echo scratch || echo none'])
        .then((out) => out.trim()),
      'none',
    );
    assert.deepEqual(await markers(), ['t1', 't2', 't3', 't4', 'r1', 't5']);
  });

  it('when a second full backup exists and retention is shortened to one, then the older is expired, the window starts later, and the newer restores', async () => {
    ok(await stack.cli(['backup', '--type', 'full']), 'backup --type full');
    const before = await backupsListing();
    const fullsBefore = [...before.matchAll(/^ {2}(\d{8}-\d{6}F) +full/gm)].map((match) => match[1]);
    // The scheduler's first full and this one, in each repo (the runbook's full too, after its restore).
    assert.ok(fullsBefore.length >= 4, before);
    // The retention setting, shortened (as the clock moving past 30 days would): one full per repo.
    await stack.exec('db', [
      'pgbackrest',
      '--stanza=refereezy',
      '--repo1-retention-full-type=count',
      '--repo1-retention-full=1',
      '--repo2-retention-full-type=count',
      '--repo2-retention-full=1',
      'expire',
    ]);
    const afterExpire = await backupsListing();
    const fullsAfter = [...afterExpire.matchAll(/^ {2}(\d{8}-\d{6}F) +full/gm)].map((match) => match[1]);
    assert.equal(fullsAfter.length, 2, afterExpire);
    // Listed repo1's then repo2's, oldest first: the newest of each is kept.
    const newest = (repo: string, text: string) =>
      [...(text.split(/\nrepo2 /)[repo === '1' ? 0 : 1] ?? '').matchAll(/^ {2}(\d{8}-\d{6}F) +full/gm)]
        .map((match) => match[1])
        .at(-1);
    assert.deepEqual(fullsAfter, [newest('1', before), newest('2', before)]);
    const from = (text: string) =>
      [...text.matchAll(/repo1: recoverable from (\S+)/g)].map((match) => Date.parse(match[1] ?? ''))[0] ?? NaN;
    assert.ok(from(afterExpire) > from(before), `the window starts later:\n${before}\n${afterExpire}`);
    const oldTarget = new Date((from(before) + from(afterExpire)) / 2).toISOString();
    const refused = await stack.cli(['restore', '--to', oldTarget, '--repo', '1']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /outside the recoverable window/);
    await mark('t6');
    ok(await stack.cli(['restore', '--to', 'latest', '--repo', '1']), 'restore from the kept backup');
    assert.deepEqual(await markers({ scratch: true }), ['t1', 't2', 't3', 't4', 'r1', 't5', 't6']);
  });

  it('when a file of the latest backup is corrupted in the store, then verify fails loudly naming it, the metric says so, and restore refuses the set', async () => {
    const listing = await backupsListing();
    const label = /repo1 \(eu-west-1\)[^\n]*\n {2}(\d{8}-\d{6}F)/.exec(listing)?.[1];
    assert.ok(label, listing);
    // The largest file of that backup in the store: flip bytes in its middle, keep its size.
    const file = (
      await stack.exec('s3', [
        'sh',
        '-c',
        `find /var/lib/s3/data/refereezy-backups-eu-west-1/pgbackrest/backup/refereezy/${label}/pg_data -name '*._S3rver_object' -printf '%s %p\\n' | sort -n | tail -n 1 | cut -d' ' -f2-`,
      ])
    ).trim();
    assert.ok(file, 'a backup file in the store');
    await stack.exec('s3', [
      'sh',
      '-c',
      `size=$(stat -c %s "$1"); printf 'CORRUPTED-BY-THE-TEST' | dd of="$1" bs=1 seek=$((size / 2)) conv=notrunc status=none`,
      'corrupt',
      file,
    ]);
    const verify = await stack.cli(['verify']);
    assert.notEqual(verify.code, 0, verify.stdout);
    assert.match(verify.stderr, /VERIFICATION FAILED/);
    assert.match(verify.stderr, new RegExp(`repo1: .*${label}`));
    const metrics = await stack.exec('node-exporter', ['curl', '-fsS', 'http://127.0.0.1:9100/metrics']);
    // The alert's mail carries the first problem (the gauge's label): the repo, the backup and the file.
    assert.match(
      metrics,
      new RegExp(`refereezy_backup_verify_success\\{problem="repo1: [^"]*${label}/pg_data/[^"]*"\\} 0`),
    );
    const restore = await stack.cli(['restore', '--to', 'latest', '--repo', '1', '--set', label]);
    assert.notEqual(restore.code, 0, 'a restore from the corrupted set must not succeed');
    assert.match(restore.stderr, /restore into the scratch instance failed/);
  });

  it('when the first region is lost entirely, then the second region alone restores every committed row', async () => {
    await mark('t7');
    ok(await stack.cli(['restore', '--to', 'latest', '--repo', '2']), 'restore from repo2 before the loss');
    await stack.exec('s3', ['rm', '-rf', '/var/lib/s3/data/refereezy-backups-eu-west-1/pgbackrest']);
    await stack.exec('db', ['db-backup', 'scratch-stop']);
    ok(await stack.cli(['restore', '--to', 'latest', '--repo', '2']), 'restore from repo2 alone');
    assert.deepEqual(await markers({ scratch: true }), ['t1', 't2', 't3', 't4', 'r1', 't5', 't6', 't7']);
  });
});
