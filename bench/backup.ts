// npm run bench:backup — backup and restore of a generated database of a stated size, and the WAL
// archive lag under a steady write load, against the real db and s3 containers (docker-compose.yml).
//   BENCH_DB_MB   size of the generated match-event data (500 by default)
//   BENCH_LOAD_S  seconds of write load for the archive lag (90 by default)
// npm run bench:backup -- verify-under-load — the weekly verification (`npm run backup -- replica
// verify`) while the API takes a constant write load, against the same load with nothing else
// running (the baseline, in the same run): the API's p99 and failed requests, and verify's duration.
//   BENCH_RATE    API writes per second (POST a match event; 40 by default)
//   BENCH_IDLE_S  seconds of the baseline (60 by default)
// Baseline in the same run: a plain copy of the same data directory to the container's own disk
// (no compression, no encryption, no network), so the ratio says what S3, zstd and AES cost here.
// The machine's load is printed too: on a busy host the absolute figures mean little.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { ApiClient } from '../tests/support/api-client.js';
import { json } from '../tests/support/http.js';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackupStack } from '../tests/support/backup-stack.js';
import { repoRoot } from '../tests/support/paths.js';

const targetMb = Number(process.env.BENCH_DB_MB ?? 500);
const loadSeconds = Number(process.env.BENCH_LOAD_S ?? 90);
const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');
const log = (line: string) => process.stderr.write(`${line}\n`);

async function timed<T>(label: string, action: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  log(`${label}…`);
  const started = performance.now();
  const value = await action();
  const seconds = (performance.now() - started) / 1000;
  log(`${label}: ${seconds.toFixed(1)} s`);
  return { seconds, value };
}

/** The end LSN (bytes) of a WAL segment named TTTTTTTTXXXXXXXXYYYYYYYY (16 MiB segments). */
function segmentEnd(name: string): bigint {
  const log = BigInt(`0x${name.slice(8, 16)}`);
  const seg = BigInt(`0x${name.slice(16, 24)}`);
  return log * 0x1_0000_0000n + (seg + 1n) * 0x100_0000n;
}

function lsnBytes(lsn: string): bigint {
  const [high = '0', low = '0'] = lsn.split('/');
  return BigInt(`0x${high}`) * 0x1_0000_0000n + BigInt(`0x${low}`);
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

async function main(): Promise<void> {
  const stack = await BackupStack.start(['db'], { BACKUP_SCHEDULE: 'off' });
  try {
    await stack.exec('db', ['db-backup', 'stanza']);
    // Match-event-like rows (~200 bytes each) up to the stated size.
    const rows = Math.round((targetMb * 1024 * 1024) / 200);
    await timed(`generating ${targetMb} MB (${rows} rows)`, () =>
      stack.sql(
        `CREATE TABLE bench_events AS SELECT g AS id, (g % 5000) AS match_id, now() - g * interval '1 second' AS at, md5(g::text) || repeat('e', 120) AS payload FROM generate_series(1, ${rows}) AS g; ANALYZE bench_events;`,
      ),
    );
    const dbBytes = Number(await stack.sql("SELECT pg_database_size('refereezy')"));
    const clusterBytes = Number(await stack.sql('SELECT sum(pg_database_size(oid)) FROM pg_database'));
    const mb = (bytes: number) => bytes / 1024 / 1024;

    await stack.sql('CHECKPOINT');
    const baseline = await timed('baseline: copy of the data directory to local disk', () =>
      stack.exec('db', [
        'sh',
        '-c',
        'rm -rf /tmp/datacopy && cp -a /var/lib/postgresql/data /tmp/datacopy && sync && rm -rf /tmp/datacopy',
      ]),
    );
    const full = await timed('full backup to repo1 (S3 over TLS, zstd, aes-256-cbc)', () =>
      stack.exec('db', ['pgbackrest', '--stanza=refereezy', '--repo=1', '--type=full', 'backup']),
    );
    await stack.sql(
      'INSERT INTO bench_events SELECT g, g % 5000, now(), md5(g::text) FROM generate_series(1, 10000) g',
    );
    const diff = await timed('differential backup to repo1 after 10,000 new rows', () =>
      stack.exec('db', ['pgbackrest', '--stanza=refereezy', '--repo=1', '--type=diff', 'backup']),
    );
    const info = JSON.parse(await stack.exec('db', ['db-backup', 'info'])) as [
      { backup: { label: string; info: { repository: { delta: number } } }[] },
    ];
    const stored = info[0].backup.at(-2)?.info.repository.delta ?? NaN;

    const pitrTarget = await stack.sql(
      `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'`,
    );
    await stack.sql("INSERT INTO bench_events SELECT g, 0, now(), 'after the target' FROM generate_series(1, 1000) g");
    await stack.exec('db', ['db-backup', 'flush']);
    const restore = await timed('point-in-time restore from repo1 into a scratch instance (to recovery end)', () =>
      stack.exec('db', ['db-backup', 'restore-scratch', '--repo', '1', '--target', pitrTarget]),
    );
    const restoredRows = await stack.sql('SELECT count(*) FROM bench_events', { scratch: true });
    await stack.exec('db', ['db-backup', 'scratch-stop']);

    // WAL archive lag under a steady write load: every second, the primary's WAL position; the
    // restorable point is the end of the last archived segment; its lag is how long ago the primary
    // was there.
    log(`write load for ${loadSeconds} s (a commit every ~20 ms) and archive lag sampling…`);
    const writer = spawn(
      'docker',
      [
        'compose',
        'exec',
        '-T',
        'db',
        'psql',
        '-X',
        '-v',
        'ON_ERROR_STOP=1',
        '-d',
        'refereezy',
        '-c',
        `DO $$ DECLARE deadline timestamptz := clock_timestamp() + interval '${loadSeconds} seconds'; BEGIN WHILE clock_timestamp() < deadline LOOP INSERT INTO bench_events SELECT g, 1, now(), md5(random()::text) FROM generate_series(1, 20) g; COMMIT; PERFORM pg_sleep(0.02); END LOOP; END $$`,
      ],
      { cwd: repoRoot, env: stack.env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let writerErrors = '';
    writer.stderr.on('data', (chunk: Buffer) => (writerErrors += chunk.toString('utf8')));
    const writerDone = new Promise<number>((resolve) => writer.on('close', (code) => resolve(code ?? 1)));
    const samples: { t: number; lsn: bigint }[] = [];
    const lags: number[] = [];
    const started = Date.now();
    while (Date.now() - started < loadSeconds * 1000) {
      const [lsn = '0/0', archived = ''] = (
        await stack.sql("SELECT pg_current_wal_lsn(), coalesce(last_archived_wal, '') FROM pg_stat_archiver")
      ).split('|');
      const now = Date.now();
      samples.push({ t: now, lsn: lsnBytes(lsn) });
      if (/^[0-9A-F]{24}$/.test(archived)) {
        const end = segmentEnd(archived);
        const reached = samples.filter((sample) => sample.lsn <= end).at(-1);
        if (reached && now - started > 35_000) lags.push((now - reached.t) / 1000);
      }
      await sleep(1000);
    }
    const writerCode = await writerDone;
    if (writerCode !== 0) throw new Error(`the write load failed (exit ${writerCode}): ${writerErrors}`);
    const walMb = mb(Number((samples.at(-1)?.lsn ?? 0n) - (samples[0]?.lsn ?? 0n)));

    const line = (label: string, value: string) => `  ${label.padEnd(44)} ${value}`;
    console.log(
      [
        '',
        `backup benchmark — ${cpus().length} CPUs, load ${load()} (1/5/15 min)`,
        line(
          'database (refereezy)',
          `${mb(dbBytes).toFixed(0)} MB (cluster ${mb(clusterBytes).toFixed(0)} MB), ${rows} generated rows`,
        ),
        line(
          'baseline: cp -a of the data directory',
          `${baseline.seconds.toFixed(1)} s, ${(mb(clusterBytes) / baseline.seconds).toFixed(1)} MB/s`,
        ),
        line(
          'full backup to repo1 (S3/TLS, zstd, AES)',
          `${full.seconds.toFixed(1)} s, ${(mb(clusterBytes) / full.seconds).toFixed(1)} MB/s, ${(full.seconds / baseline.seconds).toFixed(2)}× the baseline; stored ${mb(stored).toFixed(0)} MB`,
        ),
        line('differential (10,000 new rows)', `${diff.seconds.toFixed(1)} s`),
        line(
          'PITR restore into scratch (to a time)',
          `${restore.seconds.toFixed(1)} s, ${(mb(clusterBytes) / restore.seconds).toFixed(1)} MB/s; ${restoredRows} rows (expected ${rows + 10000})`,
        ),
        line(
          `WAL archive lag under load (${loadSeconds} s)`,
          lags.length
            ? `median ${percentile(lags, 50).toFixed(1)} s, p95 ${percentile(lags, 95).toFixed(1)} s, max ${Math.max(...lags).toFixed(1)} s over ${lags.length} samples; ${walMb.toFixed(1)} MB of WAL (target: ≤ 60 s)`
            : 'no sample',
        ),
        '',
      ].join('\n'),
    );
    if (Number(restoredRows) !== rows + 10000) process.exitCode = 1;
  } finally {
    await stack.down();
  }
}

/** The API's answers to a constant write rate, for as long as `until` takes (or `seconds`). */
async function writeLoad(url: string, token: string, matchId: number, rate: number, until: Promise<unknown> | number) {
  let instance: autocannon.Instance | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url,
        connections: 10,
        overallRate: rate,
        duration: typeof until === 'number' ? until : 3600,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        requests: [
          {
            method: 'POST',
            path: `/api/matches/${matchId}/events`,
            body: JSON.stringify({ kind: 'yellow_card', period: 1, clockSeconds: 600, team: 'home', player: '4' }),
            setupRequest: (request: autocannon.Request) => ({
              ...request,
              headers: { ...request.headers, 'idempotency-key': randomUUID() },
            }),
          },
        ],
      },
      (error, done) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(done)),
    );
    if (typeof until !== 'number') void until.finally(() => instance?.stop());
  });
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function verifyUnderLoad(): Promise<void> {
  const rate = Number(process.env.BENCH_RATE ?? 40);
  const idleSeconds = Number(process.env.BENCH_IDLE_S ?? 60);
  // db, s3, firebase and the API; no scheduler: the bench says when backups and verify run.
  // The load writes as one referee, far above the API's per-user write limit (which answers 429).
  const stack = await BackupStack.start(['db'], { BACKUP_SCHEDULE: 'off', API_WRITE_LIMIT_BURST: '0' }, 900);
  try {
    // Firebase's emulator can take longer than its healthcheck's start period on a busy machine (it
    // is then "unhealthy" but starts all the same): wait for its own check to pass, bounded, then
    // start the API without re-checking its dependencies.
    await stack.compose(['build', '--quiet', 'firebase', 'api']);
    await stack.compose(['up', '--detach', '--no-deps', 'firebase']);
    const deadline = Date.now() + 20 * 60_000;
    for (;;) {
      const ready = await stack.exec('firebase', ['node', '/srv/refereezy/firebase/healthcheck.mjs']).then(
        () => true,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error('the Firebase emulator did not answer within 20 minutes');
      await sleep(5_000);
    }
    await stack.compose(['up', '--detach', '--no-deps', '--wait', '--wait-timeout', '900', 'api']);
    const id = (await stack.compose(['ps', '--quiet', 'api'])).stdout.trim();
    const networks = JSON.parse(
      (await promisify(execFile)('docker', ['inspect', '--format', '{{json .NetworkSettings.Networks}}', id])).stdout,
    ) as Record<string, { IPAddress: string }>;
    // The Docker host reaches the API on its network (nothing is published).
    const url = `http://${networks[`${stack.projectName}_app`]?.IPAddress ?? ''}:3000`;
    const token = async (email: string, role: string) =>
      (
        JSON.parse(await stack.exec('firebase', ['node', 'id-token.mjs', '--email', email, '--role', role])) as {
          idToken: string;
        }
      ).idToken;
    const admin = new ApiClient(url, await token('bench-admin@refereezy.test', 'admin'));
    const refereeToken = await token('bench-referee@refereezy.test', 'referee');
    const uid = (
      JSON.parse(Buffer.from(refereeToken.split('.')[1] ?? '', 'base64url').toString()) as { user_id: string }
    ).user_id;
    const referee = json<{ id: number }>(
      await admin.post('/api/referees', {
        name: 'Bench Referee',
        email: 'bench-referee@refereezy.test',
        licenceLevel: 'national',
        firebaseUid: uid,
      }),
    );
    const competition = json<{ id: number }>(
      await admin.post('/api/competitions', { name: `Bench ${randomUUID()}`, season: '2026' }),
    );
    const match = json<{ id: number }>(
      await admin.post('/api/matches', {
        competitionId: competition.id,
        homeTeam: 'Bench A',
        awayTeam: 'Bench B',
        venue: 'Loopback',
        kickoffAt: '2026-12-01T12:00:00Z',
      }),
    );
    await admin.put(`/api/matches/${match.id}/officials/referee`, { refereeId: referee.id });
    await new ApiClient(url, refereeToken).post(`/api/matches/${match.id}/status`, { status: 'live' });

    await stack.exec('db', ['db-backup', 'stanza']);
    const backup = await stack.cli(['backup', '--type', 'full']);
    if (backup.code !== 0) throw new Error(`the full backup failed: ${backup.stderr}`);
    const rows = await stack.sql('SELECT count(*) FROM match_event');

    log(`baseline: ${rate} writes/s for ${idleSeconds} s, nothing else running…`);
    const idle = await writeLoad(url, refereeToken, match.id, rate, idleSeconds);
    log('the weekly verification under the same load…');
    const started = performance.now();
    const verifying = stack.cli(['verify']);
    const during = await writeLoad(url, refereeToken, match.id, rate, verifying);
    const verify = await verifying;
    const verifySeconds = (performance.now() - started) / 1000;

    const line = (label: string, value: string) => `  ${label.padEnd(36)} ${value}`;
    const figures = (run: Awaited<ReturnType<typeof writeLoad>>) =>
      `${run.requests} writes (${run.rps.toFixed(1)}/s), p50 ${run.p50} ms, p99 ${run.p99} ms, max ${run.max} ms, ${run.non2xx} non-2xx, ${run.errors} errors`;
    console.log(
      [
        '',
        `verification under load — ${cpus().length} CPUs, load ${load()} (1/5/15 min); ${rows} match events before the load`,
        line('baseline: API writes, idle', figures(idle)),
        line('API writes during the verification', figures(during)),
        line('p99 during verify / idle', `${(during.p99 / idle.p99).toFixed(2)}×`),
        line(
          'verification (both repos + scratch restore)',
          `${verify.code === 0 ? 'passed' : `FAILED (exit ${verify.code})`} in ${verifySeconds.toFixed(1)} s`,
        ),
        '',
      ].join('\n'),
    );
    if (verify.code !== 0) log(verify.stderr);
    if (verify.code !== 0 || during.non2xx + during.errors > 0) process.exitCode = 1;
  } finally {
    await stack.down();
  }
}

if (process.argv[2] === 'verify-under-load') await verifyUnderLoad();
else if (process.argv[2] === undefined) await main();
else throw new Error(`bench:backup: unknown mode ${process.argv[2]} (none, or verify-under-load)`);
