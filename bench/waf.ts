// The cost of TLS and the WAF: requests/s and latency through the full path (CDN → LB → web → API →
// Postgres), in one run on one replica: over the edge's HTTPS (cdn-tls) and over plain HTTP straight
// into Varnish (the path before TLS: the host reaches the cdn container's address on the public
// network), each with ModSecurity + the OWASP CRS on and off (`modsecurity off;` in both web
// servers, reloaded), and TLS + WAF again at the end. A read (GET a match) and a write (POST a match
// event: a JSON body the WAF parses and inspects). Bounded: BENCH_SECONDS (default 10) per run,
// BENCH_CONNECTIONS (default 10) connections, loopback only. Run: npm run bench:waf.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { ApiClient } from '../tests/support/api-client.js';
import { json } from '../tests/support/http.js';
import { StartedReplica } from '../tests/support/started-replica.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
// One referee writes hundreds of events a second here: the per-user write limit would answer 429,
// and the edge's per-address limits would answer the load generator 429 too (this bench's replica only).
process.env.API_WRITE_LIMIT_BURST = '0';
process.env.EDGE_REQUESTS_PER_10S = '10000000';
process.env.EDGE_CONNECTIONS_PER_CLIENT = '10000';

interface Row {
  path: string;
  endpoint: string;
  requestsPerSecond: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
}

async function load(path: string, baseUrl: string, token: string, matchId: number): Promise<Row[]> {
  const runs = [
    { endpoint: 'GET /api/matches/:id', options: { method: 'GET' as const, path: `/api/matches/${matchId}` } },
    {
      endpoint: 'POST /api/matches/:id/events',
      options: {
        method: 'POST' as const,
        path: `/api/matches/${matchId}/events`,
        body: JSON.stringify({
          kind: 'yellow_card',
          period: 1,
          clockSeconds: 600,
          team: 'home',
          player: "9 (O'Brien)",
        }),
        setupRequest: (request: autocannon.Request) => ({
          ...request,
          headers: { ...request.headers, 'idempotency-key': randomUUID() },
        }),
      },
    },
  ];
  const rows: Row[] = [];
  for (const run of runs) {
    const result = await autocannon({
      url: baseUrl,
      connections,
      duration: seconds,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      requests: [run.options],
    });
    rows.push({
      path,
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

/** `modsecurity on;` or `off;` in both web servers' server block (compose/web/modsecurity/site.conf), checked and reloaded. */
async function setWaf(replica: StartedReplica, on: boolean): Promise<void> {
  const [from, to] = on ? ['off', 'on'] : ['on', 'off'];
  for (const web of ['web1', 'web2'] as const) {
    const { exitCode, output } = await replica.exec(web, [
      'sh',
      '-c',
      `sed -i 's/^modsecurity ${from};$/modsecurity ${to};/' /etc/nginx/modsecurity/site.conf && nginx -t -q && nginx -s reload && sleep 1`,
    ]);
    if (exitCode !== 0) throw new Error(`${web}: switching the WAF ${to} failed: ${output}`);
  }
}

const rows: Row[] = [];
const replica = await StartedReplica.start();
try {
  const admin = new ApiClient(replica.cdnUrl, await replica.idToken('bench-admin@refereezy.test', 'admin'));
  const email = 'bench-referee@refereezy.test';
  const token = await replica.idToken(email, 'referee');
  const uid = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { user_id: string };
  const referee = json<{ id: number }>(
    await admin.post('/api/referees', {
      name: 'Bench Referee',
      email,
      licenceLevel: 'national',
      firebaseUid: uid.user_id,
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
  await new ApiClient(replica.cdnUrl, token).post(`/api/matches/${match.id}/status`, { status: 'live' });

  const plainUrl = `http://${(await replica.addressesOf('cdn')).public ?? ''}:80`;
  rows.push(...(await load('TLS + WAF', replica.cdnUrl, token, match.id)));
  rows.push(...(await load('plain + WAF', plainUrl, token, match.id)));
  await setWaf(replica, false);
  rows.push(...(await load('TLS, no WAF', replica.cdnUrl, token, match.id)));
  rows.push(...(await load('plain, no WAF', plainUrl, token, match.id)));
  await setWaf(replica, true);
  rows.push(...(await load('TLS + WAF (again)', replica.cdnUrl, token, match.id)));
} finally {
  await replica.down();
}

console.log(
  `\nThe cost of TLS and the WAF through CDN → LB → web → API: ${connections} connections, ${seconds} s per run, on this machine (2 cores; the load generator shares them)\n`,
);
console.table(rows);
const ratio = (endpoint: string, after: (path: string) => boolean, before: string) => {
  const afters = rows.filter((row) => row.endpoint === endpoint && after(row.path));
  const base = rows.find((row) => row.endpoint === endpoint && row.path === before);
  if (!base || afters.length === 0) return 'n/a';
  const rps = afters.reduce((sum, row) => sum + row.requestsPerSecond, 0) / afters.length;
  const p99 = afters.reduce((sum, row) => sum + row.p99ms, 0) / afters.length;
  return `requests/s ${(rps / base.requestsPerSecond).toFixed(2)}×, p99 ${(p99 / base.p99ms).toFixed(2)}×`;
};
for (const endpoint of new Set(rows.map((row) => row.endpoint))) {
  console.log(`${endpoint}:`);
  console.log(
    `  TLS + WAF against plain, no WAF (after/before): ${ratio(endpoint, (path) => path.startsWith('TLS + WAF'), 'plain, no WAF')}`,
  );
  console.log(
    `  TLS alone (TLS, no WAF against plain, no WAF):   ${ratio(endpoint, (path) => path === 'TLS, no WAF', 'plain, no WAF')}`,
  );
  console.log(
    `  WAF alone (TLS + WAF against TLS, no WAF):      ${ratio(endpoint, (path) => path.startsWith('TLS + WAF'), 'TLS, no WAF')}`,
  );
}
