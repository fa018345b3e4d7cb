// What operations needs from the API, against the real PostgreSQL image: metrics on their own port,
// ECS logs carrying the LB's request id, safe headers, clean errors, and a drain on shutdown.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { inTransaction } from '../../../api/src/db.js';
import { createLogger } from '../../../api/src/logger.js';
import { startServer } from '../../../api/src/server.js';
import { json, request } from '../../support/http.js';
import { StartedApi } from '../../support/started-api.js';

let api: StartedApi;
let started = false;
// Short database timeouts, so that the tests below see them end what they should, quickly.
const timeouts = {
  DB_STATEMENT_TIMEOUT_MS: '3000',
  DB_LOCK_TIMEOUT_MS: '1500',
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: '2000',
};
before(async () => {
  api = await StartedApi.start(timeouts);
  started = true;
});
after(async () => {
  if (started) await api.stop();
});

describe('metrics', () => {
  it('when requests were answered, then /metrics on the metrics port counts them per route pattern and status', async () => {
    await api.admin.get('/api/referees/123456');
    await api.admin.get('/api/referees?limit=1');
    const metrics = await request(api.metricsUrl);
    assert.equal(metrics.status, 200);
    assert.match(
      metrics.body,
      /http_requests_total\{method="GET",route="\/api\/referees\/:id",status_code="404",service="refereezy-api"\} 1/,
    );
    assert.match(
      metrics.body,
      /http_request_duration_seconds_bucket\{le="[^"]+",service="refereezy-api",method="GET",route="\/api\/referees",status_code="200"/,
    );
    for (const name of [
      'db_pool_connections',
      'db_pool_idle_connections',
      'db_pool_waiting_requests',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.match(metrics.body, new RegExp(`^${name}\\{`, 'm'), name);
    }
  });

  it('when unknown paths are requested, then they share one route label instead of one each', async () => {
    await request(`${api.url}/nowhere/${Date.now()}`);
    const metrics = await request(api.metricsUrl);
    assert.match(metrics.body, /route="unmatched",status_code="404"/);
    assert.doesNotMatch(metrics.body, /nowhere/);
  });

  it('when /metrics is asked of the API port, then it is not there', async () => {
    assert.equal((await request(`${api.url}/metrics`)).status, 404);
  });
});

describe('logs and headers', () => {
  it('when the LB sends a request id, then the answer and the ECS log line carry it', async () => {
    const id = `lb-${Date.now()}`;
    const answer = await api.admin.get('/api/competitions', { 'x-request-id': id });
    assert.equal(answer.headers.get('x-request-id'), id);
    await sleep(50);
    const line = api.logLines
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .find((entry) => JSON.stringify(entry).includes(id));
    assert.ok(line, 'a log line mentions the request id');
    assert.equal(line['http.request.id'], id);
    assert.equal(line['url.path'], '/api/competitions');
    assert.equal(line['http.response.status_code'], 200);
    assert.ok(line['@timestamp'] && line['ecs.version'], 'the line is in ECS');
  });

  it('when a request comes without an id, then the API makes one', async () => {
    const answer = await api.admin.get('/api/competitions');
    assert.match(answer.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('when any answer leaves, then it has the security headers', async () => {
    const answer = await api.admin.get('/api/competitions');
    assert.equal(answer.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(answer.headers.get('content-security-policy'));
    assert.ok(answer.headers.get('strict-transport-security'));
    assert.equal(answer.headers.get('x-powered-by'), null);
  });
});

describe('bad input', () => {
  it('when a body is malformed, too large or not JSON, then a JSON 4xx answers without a stack trace', async () => {
    const malformed = await api.admin.raw('POST', '/api/referees', {
      headers: { 'content-type': 'application/json' },
      body: '{"name":',
    });
    assert.equal(malformed.status, 400);
    assert.equal(json<{ error: { code: string } }>(malformed).error.code, 'malformed_json');
    const large = await api.admin.post('/api/referees', { name: 'x'.repeat(20_000) });
    assert.equal(large.status, 413);
    const text = await api.admin.raw('POST', '/api/referees', {
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    assert.equal(text.status, 400);
    for (const answer of [malformed, large, text]) assert.doesNotMatch(answer.body, /at .*\.(ts|js):\d+/);
  });
});

describe('database connections', () => {
  it('when PostgreSQL drops the pool’s idle connections (a restart, a failover), then the API stays up and answers again', async () => {
    // Fill the pool with idle connections, then have the server end them as a restart would.
    await Promise.all(Array.from({ length: 4 }, () => api.admin.get('/api/competitions')));
    const terminated = await api.psql(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'refereezy-api' AND state = 'idle'",
    );
    assert.equal(terminated.exitCode, 0, terminated.output);
    assert.ok(Number(terminated.output) > 0, `no idle API connection to end: ${terminated.output}`);
    await sleep(200);
    const ready = await request(`${api.url}/readyz`);
    assert.equal(ready.status, 200, ready.body);
    assert.equal((await api.admin.get('/api/competitions')).status, 200);
    assert.ok(
      api.logLines.some((line) => line.includes('idle database connection')),
      'the dropped connections are logged',
    );
  });
});

describe('database timeouts', () => {
  it('when requests wait on a lock held elsewhere, then they end with a clear 503 after the lock timeout while other requests keep answering', async () => {
    const competition = json<{ id: number }>(
      await api.admin.post('/api/competitions', { name: `Lock Cup ${Date.now()}`, season: '2026' }),
    );
    const match = json<{ id: number }>(
      await api.admin.post('/api/matches', {
        competitionId: competition.id,
        homeTeam: 'A',
        awayTeam: 'B',
        venue: 'V',
        kickoffAt: '2026-12-01T12:00:00Z',
      }),
    );
    // Someone (a stuck job, an operator's psql) holds the match's row for 8 s.
    const lock = api.psql(`BEGIN; SELECT id FROM match WHERE id = ${match.id} FOR UPDATE; SELECT pg_sleep(8); COMMIT;`);
    await sleep(500);
    const since = Date.now();
    const stuck = Promise.all(
      [1, 2, 3].map(() => api.admin.post(`/api/matches/${match.id}/status`, { status: 'live' })),
    );
    const others: number[] = [];
    for (let i = 0; i < 10; i += 1) others.push((await api.admin.get('/api/competitions')).status);
    assert.deepEqual(others, Array(10).fill(200), 'other requests answer while those wait');
    for (const answer of await stuck) {
      assert.equal(answer.status, 503, answer.body);
      assert.equal(json<{ error: { code: string } }>(answer).error.code, 'database_timeout');
      assert.equal(answer.headers.get('retry-after'), '1');
    }
    const waited = Date.now() - since;
    assert.ok(
      waited < 5_000,
      `the stuck requests ended after the lock timeout (1.5 s), not when the lock was released: ${waited} ms`,
    );
    await lock;
    const retried = await api.admin.post(`/api/matches/${match.id}/status`, { status: 'live' });
    assert.equal(retried.status, 200, 'once the lock is gone, the retry succeeds');
  });

  it('when a query runs past the statement timeout, then PostgreSQL ends it with a clear error and the pool goes on', async () => {
    const since = Date.now();
    await assert.rejects(api.server.db.query('SELECT pg_sleep(30)'), (error: Error & { code?: string }) => {
      assert.equal(error.code, '57014');
      assert.match(error.message, /statement timeout/);
      return true;
    });
    assert.ok(Date.now() - since < 6_000, 'ended by the 3 s statement timeout');
    assert.equal((await request(`${api.url}/readyz`)).status, 200);
  });

  it('when a transaction is left idle, then PostgreSQL ends its session and the API goes on', async () => {
    await assert.rejects(
      inTransaction(api.server.db, async (client) => {
        await client.query('SELECT 1');
        await sleep(3_500); // past the 2 s idle-in-transaction timeout
        await client.query('SELECT 1');
      }),
      // PostgreSQL says why before it closes the session; should the close arrive first, pg says so.
      /idle-in-transaction timeout|Connection terminated unexpectedly/,
    );
    assert.equal((await request(`${api.url}/readyz`)).status, 200);
    assert.equal((await api.admin.get('/api/competitions')).status, 200);
  });

  it('when another migration holds the migration lock, then a starting API fails after the lock wait, naming the holder', async () => {
    // An operator's session (or a crashed migration's) holds node-pg-migrate's lock for 10 s.
    const holder = api.psql('SELECT pg_advisory_lock(7241865325823964); SELECT pg_sleep(12);');
    const held =
      "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = (7241865325823964 & 4294967295)";
    for (let i = 0; (await api.psql(held)).output !== '1'; i += 1) {
      assert.ok(i < 50, 'the lock was taken');
      await sleep(100);
    }
    const since = Date.now();
    const starting = startServer(
      { ...api.config, API_PORT: 0, METRICS_PORT: 0, DB_MIGRATION_LOCK_WAIT_MS: 1_500 },
      createLogger('silent'),
    );
    // Should it start after all, it must not outlive the test.
    starting
      .then(
        (server) => server.stop(),
        () => undefined,
      )
      .catch(() => undefined);
    await assert.rejects(starting, (error: Error) => {
      assert.match(error.message, /migration lock is held by backend pid \d+ .*not released within 1500 ms/);
      return true;
    });
    assert.ok(Date.now() - since < 6_000, 'the start gave up after its lock wait');
    await holder;
  });
});

describe('the per-user write limit (API_WRITE_LIMIT_*)', () => {
  it('when one user writes past the burst, then they get 429 with Retry-After and nothing is stored, while reads and another user go on; after Retry-After they write again', async () => {
    // A second API on the same database and Firebase, with a small bucket: 3 writes, then 1 every 2 s.
    const limited = await startServer(
      { ...api.config, API_PORT: 0, METRICS_PORT: 0, API_WRITE_LIMIT_BURST: 3, API_WRITE_LIMIT_PER_SECOND: 0.5 },
      createLogger('silent'),
    );
    try {
      const url = `http://127.0.0.1:${limited.port}`;
      const as = (client: typeof api.admin) => ({
        post: (path: string, body: unknown) =>
          request(`${url}${path}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${client.idToken ?? ''}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          }),
      });
      const admin = as(api.admin);
      // A season is a year; the run's own names tell its competitions apart.
      const run = `limit-${Date.now()}`;
      const season = '2026';
      const statuses = [];
      for (let i = 0; i < 4; i += 1)
        statuses.push((await admin.post('/api/competitions', { name: `Limit Cup ${run} ${i}`, season })).status);
      assert.deepEqual(statuses, [201, 201, 201, 429]);
      const refused = await admin.post('/api/competitions', { name: `Limit Cup ${run} refused`, season });
      assert.equal(refused.status, 429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After: ${refused.headers.get('retry-after')}`);
      assert.equal(json<{ error: { code: string } }>(refused).error.code, 'write_rate_limited');
      // Nothing of the refused writes reached the database.
      assert.equal(
        (await api.psql(`SELECT count(*) FROM competition WHERE name LIKE 'Limit Cup ${run}%'`)).output,
        '3',
      );
      // Reads are not limited; another user's writes are not either.
      assert.equal(
        (await request(`${url}/api/competitions`, { headers: { authorization: `Bearer ${api.admin.idToken ?? ''}` } }))
          .status,
        200,
      );
      const referee = await api.newReferee('Limit Referee');
      const other = await as(referee.client).post('/api/matches/999999999/status', { status: 'live' });
      assert.notEqual(other.status, 429, other.body);
      // The limit is counted where Prometheus reads it.
      assert.match(
        (await request(`http://127.0.0.1:${limited.metricsPort}/metrics`)).body,
        /^api_write_rate_limited_total\{service="refereezy-api"\} 2$/m,
      );
      await sleep(retryAfter * 1000);
      assert.equal(
        (await admin.post('/api/competitions', { name: `Limit Cup ${run} after the wait`, season })).status,
        201,
      );
    } finally {
      await limited.stop();
    }
  });
});

describe('graceful shutdown', () => {
  it('when the API is stopped with a request in flight, then that request completes and new ones are refused', async () => {
    const draining = await StartedApi.start();
    try {
      const competition = json<{ id: number }>(
        await draining.admin.post('/api/competitions', { name: 'Drain Cup', season: '2026' }),
      );
      const match = json<{ id: number }>(
        await draining.admin.post('/api/matches', {
          competitionId: competition.id,
          homeTeam: 'A',
          awayTeam: 'B',
          venue: 'V',
          kickoffAt: '2026-12-01T12:00:00Z',
        }),
      );
      // Hold the match's row for 2 s, so the status change below waits on it: a request in flight.
      const lock = draining.psql(
        `BEGIN; SELECT id FROM match WHERE id = ${match.id} FOR UPDATE; SELECT pg_sleep(2); COMMIT;`,
      );
      await sleep(300);
      const inFlight = draining.admin.post(`/api/matches/${match.id}/status`, { status: 'live' });
      await sleep(300);
      const stopped = draining.server.stop();
      await sleep(100);
      await assert.rejects(request(`${draining.url}/healthz`), 'a new connection is refused while draining');
      const answer = await inFlight;
      assert.equal(answer.status, 200, answer.body);
      assert.equal(json<{ status: string }>(answer).status, 'live');
      await stopped;
      await lock;
    } finally {
      await draining.stop();
    }
  });
});
