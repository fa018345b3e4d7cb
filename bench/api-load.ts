// Load benchmark of the API: a read (GET a match) and a write (POST a match event, one idempotency
// key per request), each run directly against the API and through the CDN of the full replica.
// Bounded: BENCH_SECONDS (default 10) per run, BENCH_CONNECTIONS (default 10) connections, loopback
// only. Run: npm run bench. Prints req/s and latency percentiles; the figures go in the notes.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { ApiClient } from '../tests/support/api-client.js';
import { json } from '../tests/support/http.js';
import { StartedApi } from '../tests/support/started-api.js';
import { StartedReplica } from '../tests/support/started-replica.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
// One referee writes hundreds of events a second here: the per-user write limit would answer 429.
process.env.API_WRITE_LIMIT_BURST = '0';

interface Row {
  target: string;
  endpoint: string;
  requestsPerSecond: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
}

/** A competition, a match with `referee` as its referee, started: ready for reads and events. */
async function liveMatch(admin: ApiClient, referee: { id: number; client: ApiClient }): Promise<number> {
  const competition = json<{ id: number }>(await admin.post('/api/competitions', { name: `Bench ${randomUUID()}`, season: '2026' }));
  const match = json<{ id: number }>(
    await admin.post('/api/matches', { competitionId: competition.id, homeTeam: 'Bench A', awayTeam: 'Bench B', venue: 'Loopback', kickoffAt: '2026-12-01T12:00:00Z' }),
  );
  await admin.put(`/api/matches/${match.id}/officials/referee`, { refereeId: referee.id });
  await referee.client.post(`/api/matches/${match.id}/status`, { status: 'live' });
  return match.id;
}

async function load(target: string, baseUrl: string, token: string, matchId: number): Promise<Row[]> {
  const authorization = `Bearer ${token}`;
  const runs = [
    { endpoint: `GET /api/matches/:id`, options: { method: 'GET' as const, path: `/api/matches/${matchId}` } },
    {
      endpoint: `POST /api/matches/:id/events`,
      options: {
        method: 'POST' as const,
        path: `/api/matches/${matchId}/events`,
        body: JSON.stringify({ kind: 'yellow_card', period: 1, clockSeconds: 600, team: 'home', player: '4' }),
        setupRequest: (request: autocannon.Request) => ({ ...request, headers: { ...request.headers, 'idempotency-key': randomUUID() } }),
      },
    },
  ];
  const rows: Row[] = [];
  for (const run of runs) {
    const result = await autocannon({
      url: baseUrl,
      connections,
      duration: seconds,
      headers: { authorization, 'content-type': 'application/json' },
      requests: [run.options],
    });
    rows.push({
      target,
      endpoint: run.endpoint,
      requestsPerSecond: Math.round(result.requests.average),
      p50ms: result.latency.p50,
      p99ms: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
    });
  }
  return rows;
}

const rows: Row[] = [];
const direct = await StartedApi.start();
try {
  const referee = await direct.newReferee('Bench Referee');
  const matchId = await liveMatch(direct.admin, referee);
  rows.push(...(await load('API (in-process, real Postgres)', direct.url, referee.client.idToken ?? '', matchId)));
} finally {
  await direct.stop();
}

const replica = await StartedReplica.start();
try {
  const admin = new ApiClient(replica.cdnUrl, await replica.idToken('bench-admin@refereezy.test', 'admin'));
  const email = 'bench-referee@refereezy.test';
  const token = await replica.idToken(email, 'referee');
  const uid = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { user_id: string };
  const referee = json<{ id: number }>(await admin.post('/api/referees', { name: 'Bench Referee', email, licenceLevel: 'national', firebaseUid: uid.user_id }));
  const matchId = await liveMatch(admin, { id: referee.id, client: new ApiClient(replica.cdnUrl, token) });
  rows.push(...(await load('CDN → LB → web → API', replica.cdnUrl, token, matchId)));
} finally {
  await replica.down();
}

console.log(`\n${connections} connections, ${seconds} s per run, on this machine (2 cores; the load generator shares them)\n`);
console.table(rows);
