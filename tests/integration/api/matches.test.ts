// A match's life through the API, against the real PostgreSQL and firebase images: scheduled → live
// → finished, officials, events from the watch (idempotent), the referee's report, and who may do what.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient } from '../../support/api-client.js';
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

const setStatus = (client: ApiClient, id: number, status: string) =>
  client.post(`/api/matches/${id}/status`, { status });
const recordEvent = (client: ApiClient, id: number, key: string, event: object) =>
  client.post(`/api/matches/${id}/events`, event, { 'idempotency-key': key });

describe('matches', () => {
  it('when a match is created, then it is scheduled and listed in its competition', async () => {
    const { match } = await newMatch();
    assert.equal(match.status, 'scheduled');
    const listed = await api.admin.get('/api/matches?status=scheduled&limit=100');
    assert.ok(json<{ items: Match[] }>(listed).items.some((m) => m.id === match.id));
  });

  it('when a match names an unknown competition or the same team twice, then it is refused naming the field', async () => {
    const unknown = await api.admin.post('/api/matches', {
      competitionId: 999999,
      homeTeam: 'A',
      awayTeam: 'B',
      venue: 'V',
      kickoffAt: '2026-12-05T15:00:00Z',
    });
    assert.equal(unknown.status, 422);
    assert.equal(json<ErrorBody>(unknown).error.fields?.[0]?.field, 'body.competitionId');
    const itself = await api.admin.post('/api/matches', {
      competitionId: 1,
      homeTeam: 'Rovers',
      awayTeam: 'rovers',
      venue: 'V',
      kickoffAt: '2026-12-05T15:00:00Z',
    });
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
    assert.equal(
      errorCode(await api.admin.put(`/api/matches/${match.id}/officials/var`, { refereeId: referee.id })),
      'referee_already_assigned',
    );
    assert.equal(
      (await api.admin.put(`/api/matches/${match.id}/officials/coach`, { refereeId: referee.id })).status,
      400,
    );
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
    const forged = await api.anonymous.get('/api/matches', {
      authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
    });
    assert.equal(errorCode(forged), 'invalid_token');
  });

  it('when a referee manages what only admins manage, then it is 403', async () => {
    const { referee } = await newMatch();
    assert.equal((await referee.client.post('/api/competitions', { name: 'Mine', season: '2026' })).status, 403);
    assert.equal(
      (await referee.client.post('/api/referees', { name: 'X', email: 'x@example.org', licenceLevel: 'regional' }))
        .status,
      403,
    );
  });

  it("when a referee looks at matches, then they see their own, not others'", async () => {
    const [first, second] = [await newMatch(), await newMatch()];
    const listed = json<{ items: Match[] }>(await first.referee.client.get('/api/matches?limit=100')).items.map(
      (m) => m.id,
    );
    assert.deepEqual(listed, [first.match.id]);
    assert.equal((await first.referee.client.get(`/api/matches/${second.match.id}`)).status, 403);
    assert.equal((await first.referee.client.get(`/api/matches?refereeId=${second.referee.id}`)).status, 403);
    assert.equal(
      (await first.referee.client.post(`/api/matches/${second.match.id}/status`, { status: 'live' })).status,
      403,
    );
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
    const early = await recordEvent(referee.client, match.id, randomUUID(), {
      kind: 'period_start',
      period: 1,
      clockSeconds: 0,
    });
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
    await recordEvent(referee.client, match.id, key, {
      kind: 'yellow_card',
      period: 1,
      clockSeconds: 600,
      team: 'away',
      player: '4 Rodri',
    });
    const reused = await recordEvent(referee.client, match.id, key, {
      kind: 'red_card',
      period: 1,
      clockSeconds: 600,
      team: 'away',
      player: '4 Rodri',
    });
    assert.equal(errorCode(reused), 'idempotency_key_reused');
    const missing = await referee.client.post(`/api/matches/${match.id}/events`, {
      kind: 'period_end',
      period: 1,
      clockSeconds: 2700,
    });
    assert.equal(missing.status, 400);
    assert.equal(json<ErrorBody>(missing).error.fields?.[0]?.field, 'headers.idempotency-key');
    assert.equal(
      (await api.psql(`SELECT string_agg(kind::text, ',') FROM match_event WHERE match_id = ${match.id}`)).output,
      'yellow_card',
    );
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
    for (const event of events)
      assert.equal((await recordEvent(referee.client, match.id, randomUUID(), event)).status, 201);
    const incomplete = await recordEvent(referee.client, match.id, randomUUID(), {
      kind: 'substitution',
      period: 2,
      clockSeconds: 3700,
      team: 'home',
      player: '11 Saka',
    });
    assert.equal(json<ErrorBody>(incomplete).error.fields?.[0]?.field, 'body.playerOff');
    const timeline = json<{ items: { kind: string; period: number }[] }>(
      await referee.client.get(`/api/matches/${match.id}/events`),
    ).items;
    assert.deepEqual(
      timeline.map((e) => `${e.kind}@${e.period}`),
      ['period_start@1', 'period_end@1', 'period_start@2', 'substitution@2'],
    );
  });
});

describe('who entered an event', () => {
  it('when the referee and an admin record events, then each event names who entered it', async () => {
    const { match, referee } = await newMatch();
    await setStatus(referee.client, match.id, 'live');
    const byReferee = await recordEvent(referee.client, match.id, randomUUID(), {
      kind: 'period_start',
      period: 1,
      clockSeconds: 0,
    });
    assert.equal(json<{ recordedBy: number | null }>(byReferee).recordedBy, referee.id);
    const byAdmin = await recordEvent(api.admin, match.id, randomUUID(), {
      kind: 'period_end',
      period: 1,
      clockSeconds: 2700,
    });
    assert.equal(json<{ recordedBy: number | null }>(byAdmin).recordedBy, null, 'the admin has no referee record');
    const timeline = json<{ items: { recordedBy: number | null }[] }>(
      await referee.client.get(`/api/matches/${match.id}/events`),
    ).items;
    assert.deepEqual(
      timeline.map((event) => event.recordedBy),
      [referee.id, null],
    );
    // In the database, every event names its Firebase user; the referee's also names the referee.
    const rows = await api.psql(
      `SELECT coalesce(recorded_by::text, '-') || ' ' || (recorded_by_uid = '${referee.uid}') FROM match_event WHERE match_id = ${match.id} ORDER BY id`,
    );
    assert.equal(rows.output, `${referee.id} true\n- false`);
    assert.equal(
      (await api.psql(`SELECT count(*) FROM match_event WHERE match_id = ${match.id} AND recorded_by_uid IS NULL`))
        .output,
      '0',
    );
  });
});

interface Referee {
  id: number;
  name: string;
  email?: string;
  firebaseUid?: string | null;
  active?: boolean;
}

describe('referees: who sees whom', () => {
  it('when a signed-in user linked to no referee asks for referees, then it is 403 and nothing leaks', async () => {
    const { referee } = await newMatch();
    const stranger = new ApiClient(
      api.url,
      (await api.firebase.idToken(`stranger-${randomUUID()}@example.org`, 'referee')).idToken,
    );
    const list = await stranger.get('/api/referees?limit=100');
    assert.equal(list.status, 403, list.body);
    const one = await stranger.get(`/api/referees/${referee.id}`);
    assert.equal(one.status, 403, one.body);
    for (const answer of [list, one]) assert.doesNotMatch(answer.body, new RegExp(`${referee.email}|${referee.uid}`));
  });

  it('when a referee lists referees, then they see themselves and the officials of their matches, without email or uid', async () => {
    const { match, referee } = await newMatch();
    const assistant = await api.newReferee('Assistant');
    await api.admin.put(`/api/matches/${match.id}/officials/assistant_1`, { refereeId: assistant.id });
    const outsider = await api.newReferee('Outsider');
    const listed = await referee.client.get('/api/referees?limit=100');
    assert.equal(listed.status, 200, listed.body);
    const items = json<{ items: Referee[] }>(listed).items;
    assert.deepEqual(
      items.map((item) => item.id).sort((a, b) => a - b),
      [referee.id, assistant.id].sort((a, b) => a - b),
    );
    for (const item of items) assert.deepEqual(Object.keys(item).sort(), ['id', 'licenceLevel', 'name']);
    assert.doesNotMatch(listed.body, /@|firebaseUid/);
    assert.deepEqual(Object.keys(json<Referee>(await referee.client.get(`/api/referees/${assistant.id}`))).sort(), [
      'id',
      'licenceLevel',
      'name',
    ]);
    assert.equal((await referee.client.get(`/api/referees/${outsider.id}`)).status, 403);
    assert.equal((await referee.client.get('/api/referees/987654321')).status, 404);
  });

  it('when an admin lists referees, then they see everyone with email and uid', async () => {
    const { referee } = await newMatch();
    const all = json<{ items: Referee[] }>(await api.admin.get('/api/referees?limit=100')).items;
    const found = all.find((item) => item.id === referee.id);
    assert.ok(found, 'the admin sees the new referee');
    assert.equal(found.email, referee.email);
    assert.equal(found.firebaseUid, referee.uid);
    assert.equal(found.active, true);
  });
});

describe('revoked, disabled, demoted and deactivated users', () => {
  // Firebase keeps revocation times in whole seconds: a token must be older than the revocation.
  const olderThanNow = () => sleep(1_100);

  it('when a referee’s tokens are revoked in Firebase, then the token they hold is refused at the next request', async () => {
    const { referee } = await newMatch();
    assert.equal((await referee.client.get('/api/matches')).status, 200);
    await olderThanNow();
    await api.firebase.adminAuth().revokeRefreshTokens(referee.uid);
    const refused = await referee.client.get('/api/matches');
    assert.equal(refused.status, 401, refused.body);
    assert.equal(errorCode(refused), 'token_revoked');
  });

  it('when a referee’s Firebase user is disabled, then the token they hold is refused at the next request', async () => {
    const { referee } = await newMatch();
    assert.equal((await referee.client.get('/api/matches')).status, 200);
    await api.firebase.adminAuth().updateUser(referee.uid, { disabled: true });
    const refused = await referee.client.get('/api/matches');
    assert.equal(refused.status, 401, refused.body);
    assert.equal(errorCode(refused), 'user_disabled');
  });

  it('when an admin is demoted, then the admin claim in the token they hold no longer counts', async () => {
    const minted = await api.firebase.idToken(`demoted-${randomUUID()}@refereezy.test`, 'admin');
    const formerAdmin = new ApiClient(api.url, minted.idToken);
    assert.equal(
      (await formerAdmin.post('/api/competitions', { name: `Before ${randomUUID()}`, season: '2026' })).status,
      201,
    );
    await api.firebase.adminAuth().setCustomUserClaims(minted.uid, { role: 'referee' });
    assert.equal(
      (await formerAdmin.post('/api/competitions', { name: `After ${randomUUID()}`, season: '2026' })).status,
      403,
    );
  });

  it('when an admin deactivates a referee, then their requests are refused at once, Firebase disables them, and reactivation undoes it', async () => {
    const { match, referee } = await newMatch();
    assert.equal((await referee.client.get(`/api/matches/${match.id}`)).status, 200);
    assert.equal(
      (await referee.client.post(`/api/referees/${referee.id}/deactivation`, {})).status,
      403,
      'a referee cannot deactivate anyone',
    );

    const deactivated = await api.admin.post(`/api/referees/${referee.id}/deactivation`, {});
    assert.equal(deactivated.status, 200, deactivated.body);
    assert.equal(json<Referee>(deactivated).active, false);
    const refused = await referee.client.get(`/api/matches/${match.id}`);
    assert.equal(refused.status, 401, refused.body);
    assert.ok(['account_deactivated', 'user_disabled', 'token_revoked'].includes(errorCode(refused)), refused.body);
    const user = await api.firebase.adminAuth().getUser(referee.uid);
    assert.equal(user.disabled, true, 'Firebase disabled the user');
    assert.ok(user.tokensValidAfterTime, 'and revoked their refresh tokens');
    assert.equal(
      (await api.admin.post(`/api/referees/${referee.id}/deactivation`, {})).status,
      200,
      'deactivating twice is fine',
    );
    assert.equal(json<Referee>(await api.admin.get(`/api/referees/${referee.id}`)).active, false);
    assert.equal((await api.admin.post('/api/referees/987654321/deactivation', {})).status, 404);

    const reactivated = await api.admin.raw('DELETE', `/api/referees/${referee.id}/deactivation`);
    assert.equal(reactivated.status, 200, reactivated.body);
    assert.equal(json<Referee>(reactivated).active, true);
    assert.equal((await api.firebase.adminAuth().getUser(referee.uid)).disabled, false);
    await olderThanNow();
    const signedInAgain = new ApiClient(api.url, (await api.firebase.idToken(referee.email, 'referee')).idToken);
    assert.equal((await signedInAgain.get(`/api/matches/${match.id}`)).status, 200, 'a new sign-in works again');
  });

  it('when a referee is deactivated in the database while Firebase still lets them in, then the API refuses them', async () => {
    const { referee } = await newMatch();
    await api.psql(`UPDATE referee SET deactivated_at = now() WHERE id = ${referee.id}`);
    const refused = await referee.client.get('/api/matches');
    assert.equal(refused.status, 401);
    assert.equal(errorCode(refused), 'account_deactivated');
  });
});

describe('match reports', () => {
  it('when the referee reports a finished match, then the report is kept, once, and nobody else may write it', async () => {
    const { match, referee } = await newMatch();
    const report = { homeScore: 2, awayScore: 1, summary: 'A fair match.', incidents: 'None.' };
    await setStatus(referee.client, match.id, 'live');
    assert.equal(errorCode(await referee.client.put(`/api/matches/${match.id}/report`, report)), 'match_not_finished');
    await setStatus(referee.client, match.id, 'finished');
    assert.equal(
      (await api.admin.put(`/api/matches/${match.id}/report`, report)).status,
      403,
      'not even an admin writes it',
    );
    const submitted = await referee.client.put(`/api/matches/${match.id}/report`, report);
    assert.equal(submitted.status, 201, submitted.body);
    assert.equal(json<{ refereeId: number }>(submitted).refereeId, referee.id);
    assert.equal(errorCode(await referee.client.put(`/api/matches/${match.id}/report`, report)), 'report_exists');
    const stored = json<{ homeScore: number; summary: string }>(await api.admin.get(`/api/matches/${match.id}/report`));
    assert.deepEqual([stored.homeScore, stored.summary], [2, 'A fair match.']);
  });
});
