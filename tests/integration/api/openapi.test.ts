// The OpenAPI document is served, lists exactly the routes the API has, and every answer below —
// successes and errors, for every operation — matches it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { StartedServer } from '../../../api/src/server.js';
import { ApiClient } from '../../support/api-client.js';
import { json, type HttpAnswer } from '../../support/http.js';
import { OpenApiContract } from '../../support/openapi-contract.js';
import { StartedApi } from '../../support/started-api.js';

let api: StartedApi;
let contract: OpenApiContract;
let started = false;
before(async () => {
  api = await StartedApi.start();
  started = true;
  contract = await OpenApiContract.load(api.url);
});
after(async () => {
  if (started) await api.stop();
});

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every METHOD /path the Express app routes, read from its router (Express 5). */
function expressRoutes(app: StartedServer['app']): string[] {
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods)
            .filter((m) => m !== '_all')
            .map((m) => `${m.toUpperCase()} ${layer.route?.path ?? ''}`)
        : walk(layer.handle?.stack ?? []),
    );
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack).sort();
}

/** Calls the API as `client` (the admin unless told) and checks the answer against the document. */
async function call(
  method: string,
  template: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  client: ApiClient = api.admin,
): Promise<HttpAnswer> {
  const answer = await client.raw(method, path, {
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  contract.assertConforms(method, template, answer);
  return answer;
}

describe('OpenAPI document', () => {
  it('when the document is fetched, then it is OpenAPI 3.1 and lists exactly the routes the API serves', () => {
    assert.equal(contract.document.openapi, '3.1.0');
    const documented = Object.entries(contract.document.paths)
      .flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      )
      .sort();
    assert.deepEqual(documented, expressRoutes(api.server.app));
  });

  it('when every operation is called, successes and failures alike, then each answer is as documented', async () => {
    await call('GET', '/healthz', '/healthz');
    await call('GET', '/readyz', '/readyz');

    const referee = await api.newReferee('Stéphanie Frappart');
    const asReferee = (
      method: string,
      template: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => call(method, template, path, body, headers, referee.client);
    await call('POST', '/api/referees', '/api/referees', { name: '', email: 'x' });
    await call(
      'POST',
      '/api/referees',
      '/api/referees',
      { name: 'No Token', email: 'n@example.org', licenceLevel: 'regional' },
      {},
      api.anonymous,
    );
    await asReferee('POST', '/api/referees', '/api/referees', {
      name: 'Not Admin',
      email: 'n@example.org',
      licenceLevel: 'regional',
    });
    await call('GET', '/api/referees', '/api/referees?limit=2');
    await call('GET', '/api/referees', '/api/referees?limit=zero');
    await call('GET', '/api/referees/{id}', `/api/referees/${referee.id}`);
    await call('GET', '/api/referees/{id}', '/api/referees/987654321');
    await asReferee('GET', '/api/referees', '/api/referees');
    await asReferee('GET', '/api/referees/{id}', `/api/referees/${referee.id}`);
    const stranger = new ApiClient(
      api.url,
      (await api.firebase.idToken(`stranger-${randomUUID()}@example.org`, 'referee')).idToken,
    );
    await call('GET', '/api/referees', '/api/referees', undefined, {}, stranger);
    const other = await api.newReferee('Another Referee');
    await asReferee('GET', '/api/referees/{id}', `/api/referees/${other.id}`);
    await asReferee('POST', '/api/referees/{id}/deactivation', `/api/referees/${other.id}/deactivation`);
    await call('POST', '/api/referees/{id}/deactivation', `/api/referees/${other.id}/deactivation`);
    await call('POST', '/api/referees/{id}/deactivation', '/api/referees/987654321/deactivation');
    await call('GET', '/api/referees', '/api/referees', undefined, {}, other.client);
    await call('DELETE', '/api/referees/{id}/deactivation', `/api/referees/${other.id}/deactivation`);
    await call('DELETE', '/api/referees/{id}/deactivation', '/api/referees/0/deactivation');

    const competition = json<{ id: number }>(
      await call('POST', '/api/competitions', '/api/competitions', { name: `Cup ${Date.now()}`, season: '2026' }),
    );
    await call('GET', '/api/competitions', '/api/competitions');

    const schedule = {
      competitionId: competition.id,
      homeTeam: 'North',
      awayTeam: 'South',
      venue: 'Central',
      kickoffAt: '2026-12-24T18:00:00+01:00',
    };
    const match = json<{ id: number }>(await call('POST', '/api/matches', '/api/matches', schedule));
    await call('POST', '/api/matches', '/api/matches', { ...schedule, competitionId: 99999999 });
    await call('GET', '/api/matches', '/api/matches', undefined);
    await call(
      'GET',
      '/api/matches',
      `/api/matches?competitionId=${competition.id}&status=scheduled&refereeId=${referee.id}`,
    );
    await call('GET', '/api/matches/{id}', `/api/matches/${match.id}`);
    await call('GET', '/api/matches/{id}', '/api/matches/0');
    await asReferee('GET', '/api/matches/{id}', `/api/matches/${match.id}`);
    await call('PUT', '/api/matches/{id}/officials/{role}', `/api/matches/${match.id}/officials/referee`, {
      refereeId: referee.id,
    });
    await call('PUT', '/api/matches/{id}/officials/{role}', `/api/matches/${match.id}/officials/var`, {
      refereeId: 99999999,
    });
    await asReferee('GET', '/api/matches', '/api/matches');
    await asReferee('GET', '/api/matches/{id}/events', `/api/matches/${match.id}/events`);
    const key = randomUUID();
    await asReferee(
      'POST',
      '/api/matches/{id}/events',
      `/api/matches/${match.id}/events`,
      { kind: 'period_start', period: 1, clockSeconds: 0 },
      { 'idempotency-key': key },
    );
    await asReferee('POST', '/api/matches/{id}/status', `/api/matches/${match.id}/status`, { status: 'live' });
    await asReferee('POST', '/api/matches/{id}/status', `/api/matches/${match.id}/status`, { status: 'scheduled' });
    await asReferee(
      'POST',
      '/api/matches/{id}/events',
      `/api/matches/${match.id}/events`,
      { kind: 'period_start', period: 1, clockSeconds: 0 },
      { 'idempotency-key': key },
    );
    await asReferee(
      'POST',
      '/api/matches/{id}/events',
      `/api/matches/${match.id}/events`,
      { kind: 'period_start', period: 1, clockSeconds: 0 },
      { 'idempotency-key': key },
    );
    await asReferee(
      'POST',
      '/api/matches/{id}/events',
      `/api/matches/${match.id}/events`,
      { kind: 'goal', period: 1, clockSeconds: 1 },
      { 'idempotency-key': key },
    );
    await asReferee('GET', '/api/matches/{id}/events', `/api/matches/${match.id}/events`);
    await asReferee('GET', '/api/matches/{id}/report', `/api/matches/${match.id}/report`);
    const report = { homeScore: 0, awayScore: 0, summary: 'Goalless.' };
    await asReferee('PUT', '/api/matches/{id}/report', `/api/matches/${match.id}/report`, report);
    await asReferee('POST', '/api/matches/{id}/status', `/api/matches/${match.id}/status`, { status: 'finished' });
    await call('PUT', '/api/matches/{id}/report', `/api/matches/${match.id}/report`, report);
    await asReferee('PUT', '/api/matches/{id}/report', `/api/matches/${match.id}/report`, report);
    await asReferee('PUT', '/api/matches/{id}/report', `/api/matches/${match.id}/report`, report);
    await call('GET', '/api/matches/{id}/report', `/api/matches/${match.id}/report`);
    await call('GET', '/api/matches/{id}/report', `/api/matches/${match.id}/report`, undefined, {}, api.anonymous);
    await call('GET', '/api/openapi.json', '/api/openapi.json');
  });

  it('when request bodies are checked against the document, then it accepts what the API accepts and rejects what it rejects', async () => {
    const bodies = [
      { name: 'Valid Cup', season: '2026-27' },
      { name: 'Unknown field', season: '2026', sponsor: 'x' },
      { name: '', season: '2026' },
      { name: 'Bad season', season: 'next year' },
      { season: '2026' },
    ];
    for (const [index, body] of bodies.entries()) {
      const answer = await api.admin.post('/api/competitions', {
        ...body,
        ...(index === 0 ? { name: `Valid Cup ${Date.now()}` } : {}),
      });
      contract.assertConforms('POST', '/api/competitions', answer);
      assert.equal(
        contract.requestBodyAccepts('POST', '/api/competitions', body),
        answer.status === 201,
        `${JSON.stringify(body)} → ${answer.status}`,
      );
    }
  });
});
