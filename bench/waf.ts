// The cost of the WAF: requests/s and latency through the full path (CDN → LB → web → API →
// Postgres) with ModSecurity + the OWASP CRS on, then off (`modsecurity off;` in both web servers,
// reloaded), then on again, in one run on one replica. A read (GET a match) and a write (POST a
// match event: a JSON body the WAF parses and inspects). Bounded: BENCH_SECONDS (default 10) per run,
// BENCH_CONNECTIONS (default 10) connections, loopback only. Run: npm run bench:waf.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { ApiClient } from '../tests/support/api-client.js';
import { json } from '../tests/support/http.js';
import { StartedReplica } from '../tests/support/started-replica.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
// One referee writes hundreds of events a second here: the per-user write limit would answer 429.
process.env.API_WRITE_LIMIT_BURST = '0';

interface Row {
  waf: string;
  endpoint: string;
  requestsPerSecond: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
}

async function load(waf: string, baseUrl: string, token: string, matchId: number): Promise<Row[]> {
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
      waf,
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

  rows.push(...(await load('on', replica.cdnUrl, token, match.id)));
  await setWaf(replica, false);
  rows.push(...(await load('off', replica.cdnUrl, token, match.id)));
  await setWaf(replica, true);
  rows.push(...(await load('on (again)', replica.cdnUrl, token, match.id)));
} finally {
  await replica.down();
}

console.log(
  `\nThe WAF's cost through CDN → LB → web → API: ${connections} connections, ${seconds} s per run, on this machine (2 cores; the load generator shares them)\n`,
);
console.table(rows);
for (const endpoint of new Set(rows.map((row) => row.endpoint))) {
  const on = rows.filter((row) => row.endpoint === endpoint && row.waf.startsWith('on'));
  const off = rows.find((row) => row.endpoint === endpoint && row.waf === 'off');
  if (!off || on.length === 0) continue;
  const rps = on.reduce((sum, row) => sum + row.requestsPerSecond, 0) / on.length;
  const p99 = on.reduce((sum, row) => sum + row.p99ms, 0) / on.length;
  console.log(
    `${endpoint}: WAF on/off requests/s ${(rps / off.requestsPerSecond).toFixed(2)}×, p99 ${(p99 / off.p99ms).toFixed(2)}×`,
  );
}
