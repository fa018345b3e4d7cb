// firestore.rules on the official Firestore emulator (the one that evaluates security rules), through
// @firebase/rules-unit-testing and the Firebase JS client SDK, as the apps read Firestore.
//
// The official emulator needs Java 21 and a download these machines cannot make; the replica's
// offline emulator (compose/firebase, @firestore-emulator/server) evaluates no rules at all, so it
// cannot stand in. This suite therefore runs in .github/workflows/firestore-rules.yml, under
// `firebase emulators:exec --only firestore`, which sets FIRESTORE_EMULATOR_HOST; elsewhere it is
// skipped, saying why. FIRESTORE_RULES_REQUIRED=1 (set by the workflow) turns the skip into a failure.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  assertFails,
  assertSucceeds,
  initializeTestEnvironment,
  type RulesTestEnvironment,
} from '@firebase/rules-unit-testing';
import {
  collection,
  doc,
  getDoc,
  getDocs,
  onSnapshot,
  query,
  setDoc,
  updateDoc,
  deleteDoc,
  where,
  type Firestore,
} from 'firebase/firestore';
import { repoRoot } from '../support/paths.js';

const emulatorHost = process.env['FIRESTORE_EMULATOR_HOST'];
const skip =
  emulatorHost === undefined && process.env['FIRESTORE_RULES_REQUIRED'] !== '1'
    ? 'the official Firestore emulator (Java 21 and a download these machines cannot make) is not running here, and the offline emulator evaluates no rules: this suite runs in .github/workflows/firestore-rules.yml'
    : false;

const refereeUid = 'referee-uid';
const assistantUid = 'assistant-uid';
const strangerUid = 'self-registered-stranger';

let env: RulesTestEnvironment;

/** The documents as the API mirrors them (api/src/realtime/outbox.ts): written with rules off, as the Admin SDK does. */
async function seed(): Promise<void> {
  await env.withSecurityRulesDisabled(async (context) => {
    const db = context.firestore() as unknown as Firestore;
    const match = (officialUids: string[]) => ({
      competitionId: 1,
      homeTeam: 'Home',
      awayTeam: 'Away',
      venue: 'Ground',
      kickoffAt: '2026-12-06T14:00:00.000Z',
      status: 'live',
      startedAt: null,
      finishedAt: null,
      officialUids,
    });
    await setDoc(doc(db, 'matches/1'), match([refereeUid, assistantUid]));
    await setDoc(doc(db, 'matches/2'), match(['someone-else']));
    // A match mirrored before officialUids existed: nobody reads it until the API mirrors it again.
    await setDoc(doc(db, 'matches/3'), { homeTeam: 'Old', awayTeam: 'Doc', status: 'scheduled' });
    await setDoc(doc(db, 'matches/1/events/10'), {
      kind: 'goal',
      period: 1,
      clockSeconds: 754,
      team: 'away',
      player: '10 Marta',
      playerOff: null,
      recordedAt: '2026-12-06T14:13:00.000Z',
    });
    await setDoc(doc(db, 'matches/2/events/20'), {
      kind: 'yellow_card',
      period: 1,
      clockSeconds: 60,
      team: 'home',
      player: '6',
      playerOff: null,
      recordedAt: '2026-12-06T14:01:00.000Z',
    });
    await setDoc(doc(db, 'referees/1'), { name: 'Bibiana Steinhaus', email: 'bibiana@example.org' });
  });
}

const as = (uid: string | null): Firestore =>
  (uid === null
    ? env.unauthenticatedContext()
    : env.authenticatedContext(uid, { email: `${uid}@example.org`, email_verified: true })
  ).firestore() as unknown as Firestore;

describe('firestore.rules', { skip }, () => {
  before(async () => {
    const [host = '127.0.0.1', port = '8080'] = (emulatorHost ?? '127.0.0.1:8080').split(':');
    env = await initializeTestEnvironment({
      projectId: 'demo-refereezy',
      firestore: { host, port: Number(port), rules: readFileSync(join(repoRoot, 'firestore.rules'), 'utf8') },
    });
  });

  beforeEach(async () => {
    await env.clearFirestore();
    await seed();
  });

  after(async () => {
    await env.cleanup();
  });

  it('when an official reads their match and its events, then they get them, and can listen to the match', async () => {
    const db = as(refereeUid);
    await assertSucceeds(getDoc(doc(db, 'matches/1')));
    await assertSucceeds(getDoc(doc(as(assistantUid), 'matches/1')));
    await assertSucceeds(getDoc(doc(db, 'matches/1/events/10')));
    const events = await assertSucceeds(getDocs(collection(db, 'matches/1/events')));
    assert.deepEqual(
      events.docs.map((event) => event.id),
      ['10'],
    );
    const mine = await assertSucceeds(
      getDocs(query(collection(db, 'matches'), where('officialUids', 'array-contains', refereeUid))),
    );
    assert.deepEqual(
      mine.docs.map((match) => match.id),
      ['1'],
    );
    const status = await new Promise<unknown>((resolve, reject) => {
      const unsubscribe = onSnapshot(
        doc(db, 'matches/1'),
        (snapshot) => {
          unsubscribe();
          resolve(snapshot.get('status'));
        },
        reject,
      );
    });
    assert.equal(status, 'live');
  });

  it('when a self-registered stranger reads or listens to any match, then every read is refused', async () => {
    const db = as(strangerUid);
    await assertFails(getDoc(doc(db, 'matches/1')));
    await assertFails(getDoc(doc(db, 'matches/1/events/10')));
    await assertFails(getDocs(collection(db, 'matches/1/events')));
    await assertFails(getDocs(collection(db, 'matches')));
    await assertFails(getDocs(query(collection(db, 'matches'), where('status', '==', 'live'))));
    const refused = await new Promise<string>((resolve) => {
      onSnapshot(
        doc(db, 'matches/1'),
        () => resolve('delivered'),
        (error) => resolve((error as { code?: string }).code ?? String(error)),
      );
    });
    assert.equal(refused, 'permission-denied');
  });

  it('when an official reads another match, lists every match or reads a match without officials, then it is refused', async () => {
    const db = as(refereeUid);
    await assertFails(getDoc(doc(db, 'matches/2')));
    await assertFails(getDoc(doc(db, 'matches/2/events/20')));
    await assertFails(getDocs(collection(db, 'matches')));
    await assertFails(getDoc(doc(db, 'matches/3')));
    await assertFails(getDoc(doc(db, 'matches/404/events/1')));
  });

  it('when nobody is signed in, then nothing is readable', async () => {
    const db = as(null);
    await assertFails(getDoc(doc(db, 'matches/1')));
    await assertFails(getDoc(doc(db, 'matches/1/events/10')));
    await assertFails(getDoc(doc(db, 'referees/1')));
  });

  it('when any client writes, even an official to their own match, then it is refused: only the API (Admin SDK) writes', async () => {
    for (const uid of [refereeUid, strangerUid]) {
      const db = as(uid);
      await assertFails(setDoc(doc(db, 'matches/1'), { status: 'finished' }, { merge: true }));
      await assertFails(updateDoc(doc(db, 'matches/1'), { officialUids: [uid] }));
      await assertFails(deleteDoc(doc(db, 'matches/1')));
      await assertFails(setDoc(doc(db, 'matches/1/events/99'), { kind: 'goal' }));
      await assertFails(setDoc(doc(db, 'matches/new'), { officialUids: [uid] }));
      await assertFails(setDoc(doc(db, 'anything/else'), { x: 1 }));
    }
    await assertFails(setDoc(doc(as(null), 'matches/1'), { status: 'finished' }));
  });

  it('when another collection is read, then it is refused', async () => {
    await assertFails(getDoc(doc(as(refereeUid), 'referees/1')));
    await assertFails(getDocs(collection(as(refereeUid), 'referees')));
  });
});
