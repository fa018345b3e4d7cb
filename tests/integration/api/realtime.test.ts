// Every status change and match event reaches Firestore, where the apps listen; when Firestore is
// down the API still answers (Postgres is the source of truth) and the mirror catches up after.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Firestore } from 'firebase-admin/firestore';
import { json, request } from '../../support/http.js';
import { StartedApi, type SignedInReferee } from '../../support/started-api.js';

let api: StartedApi;
let firestore: Firestore;
let started = false;
before(async () => {
  api = await StartedApi.start();
  started = true;
  firestore = api.firebase.firestore();
});
after(async () => {
  if (started) await api.stop();
});

async function liveMatch(): Promise<{ matchId: number; referee: SignedInReferee }> {
  const competition = json<{ id: number }>(
    await api.admin.post('/api/competitions', { name: `Mirror ${randomUUID()}`, season: '2026' }),
  );
  const match = json<{ id: number }>(
    await api.admin.post('/api/matches', {
      competitionId: competition.id,
      homeTeam: 'Home',
      awayTeam: 'Away',
      venue: 'Ground',
      kickoffAt: '2026-12-06T14:00:00Z',
    }),
  );
  const referee = await api.newReferee();
  await api.admin.put(`/api/matches/${match.id}/officials/referee`, { refereeId: referee.id });
  return { matchId: match.id, referee };
}

/** Polls Firestore until `done` holds, or fails after `timeoutMs` with what was last seen. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) assert.fail(`not reached within ${timeoutMs} ms; last seen: ${JSON.stringify(value)}`);
    await sleep(200);
    value = await read();
  }
  return value;
}

const pendingInOutbox = async () => Number((await api.psql('SELECT count(*) FROM realtime_outbox')).output);

describe('real-time mirror to Firestore', () => {
  it('when the referee starts the match and records an event, then an app listening to the match sees both', async () => {
    const { matchId, referee } = await liveMatch();
    const seen: string[] = [];
    const unsubscribe = firestore.doc(`matches/${matchId}`).onSnapshot((snapshot) => {
      if (snapshot.exists) seen.push(String(snapshot.get('status')));
    });
    try {
      await referee.client.post(`/api/matches/${matchId}/status`, { status: 'live' });
      const goal = await referee.client.post(
        `/api/matches/${matchId}/events`,
        { kind: 'goal', period: 1, clockSeconds: 754, team: 'away', player: '10 Marta' },
        { 'idempotency-key': randomUUID() },
      );
      const eventId = json<{ id: number }>(goal).id;
      const event = await eventually(
        () => firestore.doc(`matches/${matchId}/events/${eventId}`).get(),
        (doc) => doc.exists,
        10_000,
      );
      assert.deepEqual(event.data(), {
        kind: 'goal',
        period: 1,
        clockSeconds: 754,
        team: 'away',
        player: '10 Marta',
        playerOff: null,
        recordedAt: json<{ recordedAt: string }>(goal).recordedAt,
      });
      await eventually(
        () => Promise.resolve(seen),
        (statuses) => statuses.includes('live'),
        10_000,
      );
      assert.equal(await pendingInOutbox(), 0);
    } finally {
      unsubscribe();
    }
  });

  it('when officials are assigned, then the mirrored match lists their Firebase UIDs (what firestore.rules checks), and a replaced one loses access', async () => {
    const { matchId, referee } = await liveMatch();
    const assistant = await api.newReferee('Assistant');
    await api.admin.put(`/api/matches/${matchId}/officials/assistant_1`, { refereeId: assistant.id });
    const both = await eventually(
      () => firestore.doc(`matches/${matchId}`).get(),
      (doc) => (doc.get('officialUids') as string[] | undefined)?.length === 2,
      10_000,
    );
    assert.deepEqual(both.get('officialUids'), [referee.uid, assistant.uid].sort());

    const replacement = await api.newReferee('Replacement');
    await api.admin.put(`/api/matches/${matchId}/officials/assistant_1`, { refereeId: replacement.id });
    const replaced = await eventually(
      () => firestore.doc(`matches/${matchId}`).get(),
      (doc) => (doc.get('officialUids') as string[] | undefined)?.includes(replacement.uid) === true,
      10_000,
    );
    assert.deepEqual(replaced.get('officialUids'), [referee.uid, replacement.uid].sort());
  });

  it('when Firestore is down, then the API still records; when it is back, every change arrives in order', async () => {
    const { matchId, referee } = await liveMatch();
    await referee.client.post(`/api/matches/${matchId}/status`, { status: 'live' });
    await eventually(
      () => firestore.doc(`matches/${matchId}`).get(),
      (doc) => doc.get('status') === 'live',
      10_000,
    );

    api.firestorePath.disconnect();
    const recorded: number[] = [];
    try {
      for (const clockSeconds of [60, 120, 180, 240, 300]) {
        const answer = await referee.client.post(
          `/api/matches/${matchId}/events`,
          { kind: 'yellow_card', period: 1, clockSeconds, team: 'home', player: '6' },
          { 'idempotency-key': randomUUID() },
        );
        assert.equal(answer.status, 201, 'the API answers while Firestore is down');
        recorded.push(json<{ id: number }>(answer).id);
      }
      const finished = await referee.client.post(`/api/matches/${matchId}/status`, { status: 'finished' });
      assert.equal(finished.status, 200);
      await sleep(6_000); // past the mirror's write deadline: at least one delivery has failed
      assert.ok((await pendingInOutbox()) >= 6, 'the changes wait in Postgres');
      const metrics = await request(api.metricsUrl);
      assert.match(metrics.body, /^realtime_outbox_pending\{[^}]*\} ([6-9]|\d{2,})$/m);
      assert.match(metrics.body, /^realtime_mirror_failures_total\{[^}]*\} [1-9]/m);
    } finally {
      api.firestorePath.reconnect();
    }

    await eventually(pendingInOutbox, (pending) => pending === 0, 30_000);
    const events = await firestore.collection(`matches/${matchId}/events`).get();
    assert.deepEqual(
      events.docs.map((doc) => Number(doc.id)).sort((a, b) => a - b),
      recorded,
    );
    assert.equal(
      (await firestore.doc(`matches/${matchId}`).get()).get('status'),
      'finished',
      'the last status wins, not an older one',
    );
  });

  it('when Firestore keeps refusing one change, then it goes to the dead letter, counted and logged, and later changes still arrive', async () => {
    const { matchId, referee } = await liveMatch();
    await referee.client.post(`/api/matches/${matchId}/status`, { status: 'live' });
    await eventually(
      () => firestore.doc(`matches/${matchId}`).get(),
      (doc) => doc.get('status') === 'live',
      10_000,
    );

    // A change no retry can deliver: its path names a collection, which Firestore refuses to write.
    const poisoned = await api.psql(
      `WITH queued AS (INSERT INTO realtime_outbox (document_path, payload) VALUES ('matches', '{"status": "live"}') RETURNING id) SELECT id FROM queued`,
    );
    assert.equal(poisoned.exitCode, 0, poisoned.output);
    const goal = await referee.client.post(
      `/api/matches/${matchId}/events`,
      { kind: 'goal', period: 1, clockSeconds: 99, team: 'home', player: '9' },
      { 'idempotency-key': randomUUID() },
    );
    assert.equal(goal.status, 201, goal.body);
    const eventId = json<{ id: number }>(goal).id;

    await eventually(
      () => firestore.doc(`matches/${matchId}/events/${eventId}`).get(),
      (doc) => doc.exists,
      30_000,
    );
    assert.equal(await pendingInOutbox(), 0, 'nothing is stuck behind the refused change');
    const dead = await api.psql(
      `SELECT document_path, attempts, last_error FROM realtime_dead_letter WHERE id = ${poisoned.output}`,
    );
    const [path, attempts, lastError] = dead.output.split('|');
    assert.equal(path, 'matches');
    assert.equal(attempts, '5', 'moved after REALTIME_MAX_ATTEMPTS (5) refusals');
    assert.match(lastError ?? '', /must point to a document/);
    const metrics = await request(api.metricsUrl);
    assert.match(metrics.body, /^realtime_mirror_dead_lettered_total\{[^}]*\} 1$/m);
    assert.match(metrics.body, /^realtime_dead_letter_rows\{[^}]*\} 1$/m);
    assert.ok(
      api.logLines.some(
        (line) =>
          line.includes('"log.level":"error"') &&
          line.includes(`outbox row ${poisoned.output}`) &&
          line.includes('realtime_dead_letter'),
      ),
      'the dead letter is logged as an error',
    );
  });
});
