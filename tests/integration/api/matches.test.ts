// A match's life through the API, against the real PostgreSQL image: scheduled → live → finished,
// officials, events from the watch (idempotent), and the referee's report.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { json, postJson, request, sendJson, type HttpAnswer } from '../../support/http.js';
import { StartedApi } from '../../support/started-api.js';

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

async function newReferee(): Promise<number> {
  sequence += 1;
  const answer = await postJson(`${api.url}/api/referees`, {
    name: `Referee ${sequence}`,
    email: `referee-${sequence}-${Date.now()}@example.org`,
    licenceLevel: 'national',
  });
  assert.equal(answer.status, 201, answer.body);
  return json<{ id: number }>(answer).id;
}

async function newMatch(): Promise<Match> {
  sequence += 1;
  const competition = await postJson(`${api.url}/api/competitions`, { name: `League ${sequence}`, season: '2026-27' });
  assert.equal(competition.status, 201, competition.body);
  const match = await postJson(`${api.url}/api/matches`, {
    competitionId: json<{ id: number }>(competition).id,
    homeTeam: 'Rovers',
    awayTeam: 'United',
    venue: 'Riverside Park',
    kickoffAt: '2026-12-05T15:00:00Z',
  });
  assert.equal(match.status, 201, match.body);
  return json<Match>(match);
}

const setStatus = (id: number, status: string) => postJson(`${api.url}/api/matches/${id}/status`, { status });
const recordEvent = (id: number, key: string, event: object) => postJson(`${api.url}/api/matches/${id}/events`, event, { 'idempotency-key': key });

describe('matches', () => {
  it('when a match is created, then it is scheduled, with no officials, and listed in its competition', async () => {
    const match = await newMatch();
    assert.equal(match.status, 'scheduled');
    assert.deepEqual(match.officials, []);
    const listed = await request(`${api.url}/api/matches?status=scheduled&limit=100`);
    assert.ok(json<{ items: Match[] }>(listed).items.some((m) => m.id === match.id));
  });

  it('when a match names an unknown competition or the same team twice, then it is refused naming the field', async () => {
    const unknown = await postJson(`${api.url}/api/matches`, { competitionId: 999999, homeTeam: 'A', awayTeam: 'B', venue: 'V', kickoffAt: '2026-12-05T15:00:00Z' });
    assert.equal(unknown.status, 422);
    assert.equal(json<ErrorBody>(unknown).error.fields?.[0]?.field, 'body.competitionId');
    const itself = await postJson(`${api.url}/api/matches`, { competitionId: 1, homeTeam: 'Rovers', awayTeam: 'rovers', venue: 'V', kickoffAt: '2026-12-05T15:00:00Z' });
    assert.equal(itself.status, 400);
    assert.equal(json<ErrorBody>(itself).error.fields?.[0]?.field, 'body.awayTeam');
  });

  it('when the status changes, then it only moves scheduled → live → finished, with its timestamps', async () => {
    const match = await newMatch();
    assert.equal(errorCode(await setStatus(match.id, 'finished')), 'invalid_transition');
    const live = json<Match>(await setStatus(match.id, 'live'));
    assert.equal(live.status, 'live');
    assert.ok(live.startedAt);
    assert.equal(errorCode(await setStatus(match.id, 'scheduled')), 'invalid_transition');
    const finished = json<Match>(await setStatus(match.id, 'finished'));
    assert.equal(finished.status, 'finished');
    assert.ok(finished.finishedAt);
    assert.equal((await setStatus(match.id, 'live')).status, 409);
  });

  it('when code bypasses the API, then the schema itself refuses a status going backwards', async () => {
    const match = await newMatch();
    await setStatus(match.id, 'live');
    const backwards = await api.psql(`UPDATE match SET status = 'scheduled', started_at = NULL WHERE id = ${match.id}`);
    assert.notEqual(backwards.exitCode, 0);
    assert.match(backwards.output, /cannot go from live to scheduled/);
  });

  it('when officials are assigned, then each role holds one referee and a referee holds one role', async () => {
    const match = await newMatch();
    const [referee, assistant] = [await newReferee(), await newReferee()];
    const assigned = await sendJson('PUT', `${api.url}/api/matches/${match.id}/officials/referee`, { refereeId: referee });
    assert.equal(assigned.status, 200, assigned.body);
    await sendJson('PUT', `${api.url}/api/matches/${match.id}/officials/assistant_1`, { refereeId: assistant });
    const twice = await sendJson('PUT', `${api.url}/api/matches/${match.id}/officials/var`, { refereeId: referee });
    assert.equal(errorCode(twice), 'referee_already_assigned');
    const unknownRole = await sendJson('PUT', `${api.url}/api/matches/${match.id}/officials/coach`, { refereeId: referee });
    assert.equal(unknownRole.status, 400);
    const officials = json<Match>(await request(`${api.url}/api/matches/${match.id}`)).officials;
    assert.deepEqual(officials, [
      { role: 'referee', refereeId: referee },
      { role: 'assistant_1', refereeId: assistant },
    ]);
  });
});

describe('match events from the watch', () => {
  it('when the match is not live, then events are refused', async () => {
    const match = await newMatch();
    const early = await recordEvent(match.id, randomUUID(), { kind: 'period_start', period: 1, clockSeconds: 0 });
    assert.equal(errorCode(early), 'match_not_live');
  });

  it('when the watch retries an event with its key, then it is recorded once and the retry gets the same event', async () => {
    const match = await newMatch();
    await setStatus(match.id, 'live');
    const key = randomUUID();
    const goal = { kind: 'goal', period: 1, clockSeconds: 1234, team: 'home', player: '9 Haaland' };
    const first = await recordEvent(match.id, key, goal);
    assert.equal(first.status, 201, first.body);
    const retries = await Promise.all([1, 2, 3].map(() => recordEvent(match.id, key, goal)));
    for (const retry of retries) {
      assert.equal(retry.status, 200);
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.equal(json<{ id: number }>(retry).id, json<{ id: number }>(first).id);
    }
    const count = await api.psql(`SELECT count(*) FROM match_event WHERE match_id = ${match.id}`);
    assert.equal(count.output, '1');
  });

  it('when a key is reused for a different event, or missing, then the event is refused and nothing is stored', async () => {
    const match = await newMatch();
    await setStatus(match.id, 'live');
    const key = randomUUID();
    await recordEvent(match.id, key, { kind: 'yellow_card', period: 1, clockSeconds: 600, team: 'away', player: '4 Rodri' });
    const reused = await recordEvent(match.id, key, { kind: 'red_card', period: 1, clockSeconds: 600, team: 'away', player: '4 Rodri' });
    assert.equal(errorCode(reused), 'idempotency_key_reused');
    const missing = await postJson(`${api.url}/api/matches/${match.id}/events`, { kind: 'period_end', period: 1, clockSeconds: 2700 });
    assert.equal(missing.status, 400);
    assert.equal(json<ErrorBody>(missing).error.fields?.[0]?.field, 'headers.idempotency-key');
    assert.equal((await api.psql(`SELECT string_agg(kind::text, ',') FROM match_event WHERE match_id = ${match.id}`)).output, 'yellow_card');
  });

  it('when events of each kind arrive, then the timeline lists them in match-clock order', async () => {
    const match = await newMatch();
    await setStatus(match.id, 'live');
    const events = [
      { kind: 'period_start', period: 2, clockSeconds: 2700 },
      { kind: 'substitution', period: 2, clockSeconds: 3600, team: 'home', player: '11 Saka', playerOff: '7 Foden' },
      { kind: 'period_start', period: 1, clockSeconds: 0 },
      { kind: 'period_end', period: 1, clockSeconds: 2820 },
    ];
    for (const event of events) assert.equal((await recordEvent(match.id, randomUUID(), event)).status, 201);
    const incomplete = await recordEvent(match.id, randomUUID(), { kind: 'substitution', period: 2, clockSeconds: 3700, team: 'home', player: '11 Saka' });
    assert.equal(json<ErrorBody>(incomplete).error.fields?.[0]?.field, 'body.playerOff');
    const timeline = json<{ items: { kind: string; period: number }[] }>(await request(`${api.url}/api/matches/${match.id}/events`)).items;
    assert.deepEqual(timeline.map((e) => `${e.kind}@${e.period}`), ['period_start@1', 'period_end@1', 'period_start@2', 'substitution@2']);
  });
});

describe('match reports', () => {
  it('when the referee reports a finished match, then the report is kept, once, and only theirs is accepted', async () => {
    const match = await newMatch();
    const [referee, other] = [await newReferee(), await newReferee()];
    await sendJson('PUT', `${api.url}/api/matches/${match.id}/officials/referee`, { refereeId: referee });
    const report = { refereeId: referee, homeScore: 2, awayScore: 1, summary: 'A fair match.', incidents: 'None.' };
    await setStatus(match.id, 'live');
    assert.equal(errorCode(await sendJson('PUT', `${api.url}/api/matches/${match.id}/report`, report)), 'match_not_finished');
    await setStatus(match.id, 'finished');
    assert.equal(errorCode(await sendJson('PUT', `${api.url}/api/matches/${match.id}/report`, { ...report, refereeId: other })), 'not_the_referee');
    const submitted = await sendJson('PUT', `${api.url}/api/matches/${match.id}/report`, report);
    assert.equal(submitted.status, 201, submitted.body);
    assert.equal(errorCode(await sendJson('PUT', `${api.url}/api/matches/${match.id}/report`, report)), 'report_exists');
    const stored = json<{ homeScore: number; summary: string }>(await request(`${api.url}/api/matches/${match.id}/report`));
    assert.deepEqual([stored.homeScore, stored.summary], [2, 'A fair match.']);
  });
});
