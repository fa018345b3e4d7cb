// A match's life through the API, against the real PostgreSQL and firebase images: scheduled → live
// → finished, officials, events from the watch (idempotent), the referee's report, and who may do what.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ApiClient } from '../../support/api-client.js';
import { json, type HttpAnswer } from '../../support/http.js';
import { StartedApi, type SignedInReferee } from '../../support/started-api.js';

interface Match {
  id: number;
  status: string;
  startedAt: string | null;
  finishedAt: string | null;
  officials: { role: string; refereeId: number }[];
}
interface ErrorBody {
  error: { code: string; message: string; fields?: { field: string }[] };
}

let api: StartedApi;
let started = false;
before(async () => {
  api = await StartedApi.start();
  started = true;
});
after(async () => {
  if (started) await api.stop();
});

const errorCode = (answer: HttpAnswer) => json<ErrorBody>(answer).error.code;
let sequence = 0;

/** A scheduled match, and (unless told otherwise) a referee assigned to it as its referee. */
async function newMatch(): Promise<{ match: Match; referee: SignedInReferee }> {
  sequence += 1;
  const competition = await api.admin.post('/api/competitions', { name: `League ${sequence}`, season: '2026-27' });
  assert.equal(competition.status, 201, competition.body);
  const created = await api.admin.post('/api/matches', {
    competitionId: json<{ id: number }>(competition).id,
    homeTeam: 'Rovers',
    awayTeam: 'United',
    venue: 'Riverside Park',
    kickoffAt: '2026-12-05T15:00:00Z',
  });
  assert.equal(created.status, 201, created.body);
  const match = json<Match>(created);
  const referee = await api.newReferee();
  const assigned = await api.admin.put(`/api/matches/${match.id}/officials/referee`, { refereeId: referee.id });
  assert.equal(assigned.status, 200, assigned.body);
  return { match, referee };
}

const setStatus = (client: ApiClient, id: number, status: string) => client.post(`/api/matches/${id}/status`, { status });
const recordEvent = (client: ApiClient, id: number, key: string, event: object) => client.post(`/api/matches/${id}/events`, event, { 'idempotency-key': key });

describe('matches', () => {
  it('when a match is created, then it is scheduled and listed in its competition', async () => {
    const { match } = await newMatch();
    assert.equal(match.status, 'scheduled');
    const listed = await api.admin.get('/api/matches?status=scheduled&limit=100');
    assert.ok(json<{ items: Match[] }>(listed).items.some((m) => m.id === match.id));
  });

  it('when a match names an unknown competition or the same team twice, then it is refused naming the field', async () => {
    const unknown = await api.admin.post('/api/matches', { competitionId: 999999, homeTeam: 'A', awayTeam: 'B', venue: 'V', kickoffAt: '2026-12-05T15:00:00Z' });
    assert.equal(unknown.status, 422);
    assert.equal(json<ErrorBody>(unknown).error.fields?.[0]?.field, 'body.competitionId');
    const itself = await api.admin.post('/api/matches', { competitionId: 1, homeTeam: 'Rovers', awayTeam: 'rovers', venue: 'V', kickoffAt: '2026-12-05T15:00:00Z' });
    assert.equal(itself.status, 400);
    assert.equal(json<ErrorBody>(itself).error.fields?.[0]?.field, 'body.awayTeam');
  });

  it('when the referee runs the match, then it only moves scheduled → live → finished, with its timestamps', async () => {
    const { match, referee } = await newMatch();
    assert.equal(errorCode(await setStatus(referee.client, match.id, 'finished')), 'invalid_transition');
    const live = json<Match>(await setStatus(referee.client, match.id, 'live'));
    assert.equal(live.status, 'live');
    assert.ok(live.startedAt);
    assert.equal(errorCode(await setStatus(referee.client, match.id, 'scheduled')), 'invalid_transition');
    const finished = json<Match>(await setStatus(referee.client, match.id, 'finished'));
    assert.equal(finished.status, 'finished');
    assert.ok(finished.finishedAt);
    assert.equal((await setStatus(api.admin, match.id, 'live')).status, 409);
  });

  it('when code bypasses the API, then the schema itself refuses a status going backwards', async () => {
    const { match, referee } = await newMatch();
    await setStatus(referee.client, match.id, 'live');
    const backwards = await api.psql(`UPDATE match SET status = 'scheduled', started_at = NULL WHERE id = ${match.id}`);
    assert.notEqual(backwards.exitCode, 0);
    assert.match(backwards.output, /cannot go from live to scheduled/);
  });

  it('when officials are assigned, then each role holds one referee and a referee holds one role', async () => {
    const { match, referee } = await newMatch();
    const assistant = await api.newReferee();
    await api.admin.put(`/api/matches/${match.id}/officials/assistant_1`, { refereeId: assistant.id });
    assert.equal(errorCode(await api.admin.put(`/api/matches/${match.id}/officials/var`, { refereeId: referee.id })), 'referee_already_assigned');
    assert.equal((await api.admin.put(`/api/matches/${match.id}/officials/coach`, { refereeId: referee.id })).status, 400);
    const officials = json<Match>(await api.admin.get(`/api/matches/${match.id}`)).officials;
    assert.deepEqual(officials, [
      { role: 'referee', refereeId: referee.id },
      { role: 'assistant_1', refereeId: assistant.id },
    ]);
  });
});

describe('who may do what', () => {
  it('when a request has no token or a bad one, then it is 401 with a clear body', async () => {
    const none = await api.anonymous.get('/api/matches');
    assert.equal(none.status, 401);
    assert.equal(errorCode(none), 'unauthenticated');
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    const forged = await api.anonymous.get('/api/matches', { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' });
    assert.equal(errorCode(forged), 'invalid_token');
  });

  it('when a referee manages what only admins manage, then it is 403', async () => {
    const { referee } = await newMatch();
    assert.equal((await referee.client.post('/api/competitions', { name: 'Mine', season: '2026' })).status, 403);
    assert.equal((await referee.client.post('/api/referees', { name: 'X', email: 'x@example.org', licenceLevel: 'regional' })).status, 403);
  });

  it("when a referee looks at matches, then they see their own, not others'", async () => {
    const [first, second] = [await newMatch(), await newMatch()];
    const listed = json<{ items: Match[] }>(await first.referee.client.get('/api/matches?limit=100')).items.map((m) => m.id);
    assert.deepEqual(listed, [first.match.id]);
    assert.equal((await first.referee.client.get(`/api/matches/${second.match.id}`)).status, 403);
    assert.equal((await first.referee.client.get(`/api/matches?refereeId=${second.referee.id}`)).status, 403);
    assert.equal((await first.referee.client.post(`/api/matches/${second.match.id}/status`, { status: 'live' })).status, 403);
  });

  it('when an assistant records an event, then it is 403: the referee runs the match', async () => {
    const { match, referee } = await newMatch();
    const assistant = await api.newReferee();
    await api.admin.put(`/api/matches/${match.id}/officials/assistant_2`, { refereeId: assistant.id });
    await setStatus(referee.client, match.id, 'live');
    assert.equal((await assistant.client.get(`/api/matches/${match.id}`)).status, 200, 'an assistant sees the match');
    const event = { kind: 'period_start', period: 1, clockSeconds: 0 };
    assert.equal((await recordEvent(assistant.client, match.id, randomUUID(), event)).status, 403);
  });
});

describe('match events from the watch', () => {
  it('when the match is not live, then events are refused', async () => {
    const { match, referee } = await newMatch();
    const early = await recordEvent(referee.client, match.id, randomUUID(), { kind: 'period_start', period: 1, clockSeconds: 0 });
    assert.equal(errorCode(early), 'match_not_live');
  });

  it('when the watch retries an event with its key, then it is recorded once and the retry gets the same event', async () => {
    const { match, referee } = await newMatch();
    await setStatus(referee.client, match.id, 'live');
    const key = randomUUID();
    const goal = { kind: 'goal', period: 1, clockSeconds: 1234, team: 'home', player: '9 Haaland' };
    const first = await recordEvent(referee.client, match.id, key, goal);
    assert.equal(first.status, 201, first.body);
    const retries = await Promise.all([1, 2, 3].map(() => recordEvent(referee.client, match.id, key, goal)));
    for (const retry of retries) {
      assert.equal(retry.status, 200);
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.equal(json<{ id: number }>(retry).id, json<{ id: number }>(first).id);
    }
    assert.equal((await api.psql(`SELECT count(*) FROM match_event WHERE match_id = ${match.id}`)).output, '1');
  });

  it('when a key is reused for a different event, or missing, then the event is refused and nothing is stored', async () => {
    const { match, referee } = await newMatch();
    await setStatus(referee.client, match.id, 'live');
    const key = randomUUID();
    await recordEvent(referee.client, match.id, key, { kind: 'yellow_card', period: 1, clockSeconds: 600, team: 'away', player: '4 Rodri' });
    const reused = await recordEvent(referee.client, match.id, key, { kind: 'red_card', period: 1, clockSeconds: 600, team: 'away', player: '4 Rodri' });
    assert.equal(errorCode(reused), 'idempotency_key_reused');
    const missing = await referee.client.post(`/api/matches/${match.id}/events`, { kind: 'period_end', period: 1, clockSeconds: 2700 });
    assert.equal(missing.status, 400);
    assert.equal(json<ErrorBody>(missing).error.fields?.[0]?.field, 'headers.idempotency-key');
    assert.equal((await api.psql(`SELECT string_agg(kind::text, ',') FROM match_event WHERE match_id = ${match.id}`)).output, 'yellow_card');
  });

  it('when events of each kind arrive, then the timeline lists them in match-clock order', async () => {
    const { match, referee } = await newMatch();
    await setStatus(referee.client, match.id, 'live');
    const events = [
      { kind: 'period_start', period: 2, clockSeconds: 2700 },
      { kind: 'substitution', period: 2, clockSeconds: 3600, team: 'home', player: '11 Saka', playerOff: '7 Foden' },
      { kind: 'period_start', period: 1, clockSeconds: 0 },
      { kind: 'period_end', period: 1, clockSeconds: 2820 },
    ];
    for (const event of events) assert.equal((await recordEvent(referee.client, match.id, randomUUID(), event)).status, 201);
    const incomplete = await recordEvent(referee.client, match.id, randomUUID(), { kind: 'substitution', period: 2, clockSeconds: 3700, team: 'home', player: '11 Saka' });
    assert.equal(json<ErrorBody>(incomplete).error.fields?.[0]?.field, 'body.playerOff');
    const timeline = json<{ items: { kind: string; period: number }[] }>(await referee.client.get(`/api/matches/${match.id}/events`)).items;
    assert.deepEqual(timeline.map((e) => `${e.kind}@${e.period}`), ['period_start@1', 'period_end@1', 'period_start@2', 'substitution@2']);
  });
});

describe('match reports', () => {
  it('when the referee reports a finished match, then the report is kept, once, and nobody else may write it', async () => {
    const { match, referee } = await newMatch();
    const report = { homeScore: 2, awayScore: 1, summary: 'A fair match.', incidents: 'None.' };
    await setStatus(referee.client, match.id, 'live');
    assert.equal(errorCode(await referee.client.put(`/api/matches/${match.id}/report`, report)), 'match_not_finished');
    await setStatus(referee.client, match.id, 'finished');
    assert.equal((await api.admin.put(`/api/matches/${match.id}/report`, report)).status, 403, 'not even an admin writes it');
    const submitted = await referee.client.put(`/api/matches/${match.id}/report`, report);
    assert.equal(submitted.status, 201, submitted.body);
    assert.equal(json<{ refereeId: number }>(submitted).refereeId, referee.id);
    assert.equal(errorCode(await referee.client.put(`/api/matches/${match.id}/report`, report)), 'report_exists');
    const stored = json<{ homeScore: number; summary: string }>(await api.admin.get(`/api/matches/${match.id}/report`));
    assert.deepEqual([stored.homeScore, stored.summary], [2, 'A fair match.']);
  });
});
