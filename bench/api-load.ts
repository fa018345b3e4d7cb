// Load benchmark of the API's read path, three columns measured in one run on the same replica, the
// same route (GET /api/matches/:id, a referee's token) and the same connections:
//   floor      a bare Express + pg handler running the API's very query (matchByIdSql), started
//              inside the API's own container (same Node, same network, same database)
//   direct     the API itself, reached at its container's address
//   full path  CDN → LB → web → API, from the host as a user would
// and the ratios the targets are set in (docs: issue 14): direct/floor ≥ 0.5, full/direct ≥ 0.8.
// Then a write (POST a match event, one idempotency key per request), direct and through the path.
// Rounds alternate the columns so a busy neighbour slows all three alike; the median is reported.
// Bounded: BENCH_ROUNDS (3) × BENCH_SECONDS (5) per column, BENCH_CONNECTIONS (10), loopback and the
// replica's own containers only.
// Run: npm run bench (starts a replica of its own, and removes it), or against a running
// `npm run stack`: BENCH_COMPOSE_PROJECT=refereezy npm run bench.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { matchByIdSql } from '../api/src/matches/match-repository.js';
import { request } from '../tests/support/http.js';
import { apiAddress, benchReplica, refereeWithLiveMatch, run, type Replica } from './replica-access.js';
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const floorPort = 3100;
// One referee writes hundreds of events a second here: the per-user write limit would answer 429,
// and so would the edge's per-address limits (this reaches a replica the bench starts; a running
// stack needs API_WRITE_LIMIT_BURST=0 and EDGE_REQUESTS_PER_10S, EDGE_CONNECTIONS_PER_CLIENT raised itself).
process.env.API_WRITE_LIMIT_BURST = '0';
process.env.EDGE_REQUESTS_PER_10S = '10000000';
process.env.EDGE_CONNECTIONS_PER_CLIENT = '10000';

// The floor: Express and pg from the API image's own node_modules, the API's database settings and
// pool size, the same query; no auth, logging, metrics or validation. It exits by itself after a
// bounded time, or when asked.
const floorSource = `
const express = require('express');
const pg = require('pg');
const pool = new pg.Pool({ host: process.env.DB_HOST, database: process.env.DB_NAME, user: process.env.DB_USER,
  password: process.env.DB_PASSWORD, max: Number(process.env.DB_POOL_MAX || 10) });
const sql = ${JSON.stringify(matchByIdSql)};
const app = express();
app.get('/api/matches/:id', async (request, response) => {
  const { rows } = await pool.query(sql, [Number(request.params.id)]);
  if (rows[0]) response.json(rows[0]); else response.status(404).end();
});
app.post('/floor/exit', (_request, response) => { response.end(); setImmediate(() => process.exit(0)); });
app.listen(${floorPort});
setTimeout(() => process.exit(0), ${(rounds * seconds * 3 + 300) * 1000}).unref();
`;

async function startFloor(replica: Replica, address: string): Promise<string> {
  await run('docker', [
    'exec',
    '-d',
    '-w',
    '/srv/refereezy/api',
    await replica.containerId('api'),
    'node',
    '-e',
    floorSource,
  ]);
  const url = `http://${address}:${floorPort}`;
  for (let attempt = 0; attempt < 60; attempt += 1) {
    const answer = await request(`${url}/api/matches/0`).catch(() => undefined);
    if (answer?.status === 404) return url;
    await sleep(500);
  }
  throw new Error(`the bare Express + pg floor did not answer at ${url} within 30 s`);
}

interface Sample {
  requestsPerSecond: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
}

async function load(url: string, token: string, options: autocannon.Request): Promise<Sample> {
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requests: [options],
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

function median(samples: Sample[]): Sample {
  const sorted = [...samples].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const middle = sorted[Math.floor(sorted.length / 2)] as Sample;
  return {
    ...middle,
    non2xx: samples.reduce((sum, s) => sum + s.non2xx, 0),
    errors: samples.reduce((sum, s) => sum + s.errors, 0),
  };
}

const replica = await benchReplica();
let floorUrl: string | undefined;
try {
  const { token, matchId } = await refereeWithLiveMatch(replica);
  const address = await apiAddress(replica);
  floorUrl = await startFloor(replica, address);
  const columns = { floor: floorUrl, direct: `http://${address}:3000`, 'full path': replica.cdnUrl };
  const read = { method: 'GET' as const, path: `/api/matches/${matchId}` };
  const write: autocannon.Request = {
    method: 'POST',
    path: `/api/matches/${matchId}/events`,
    body: JSON.stringify({ kind: 'yellow_card', period: 1, clockSeconds: 600, team: 'home', player: '4' }),
    setupRequest: (req: autocannon.Request) => ({
      ...req,
      headers: { ...req.headers, 'idempotency-key': randomUUID() },
    }),
  };

  const reads: Record<string, Sample[]> = { floor: [], direct: [], 'full path': [] };
  const writes: Record<string, Sample[]> = { direct: [], 'full path': [] };
  for (let round = 0; round < rounds; round += 1) {
    for (const [column, url] of Object.entries(columns)) reads[column]?.push(await load(url, token, read));
  }
  for (let round = 0; round < Math.max(1, Math.floor(rounds / 2)); round += 1) {
    writes.direct?.push(await load(columns.direct, token, write));
    writes['full path']?.push(await load(columns['full path'], token, write));
  }

  const readRows = Object.fromEntries(Object.entries(reads).map(([column, samples]) => [column, median(samples)]));
  const rps = (column: string) => readRows[column]?.requestsPerSecond ?? 0;
  console.log(
    `\n${connections} connections, ${rounds} rounds × ${seconds} s per column (median), on this machine (the load generator shares its cores)\n`,
  );
  console.log('GET /api/matches/:id');
  console.table(readRows);
  console.table([
    { ratio: 'direct / floor', measured: +(rps('direct') / rps('floor')).toFixed(2), target: '≥ 0.5' },
    { ratio: 'full path / direct', measured: +(rps('full path') / rps('direct')).toFixed(2), target: '≥ 0.8' },
  ]);
  console.log('POST /api/matches/:id/events');
  console.table(Object.fromEntries(Object.entries(writes).map(([column, samples]) => [column, median(samples)])));
} finally {
  if (floorUrl) await request(`${floorUrl}/floor/exit`, { method: 'POST' }).catch(() => undefined);
  await replica.stop();
}
