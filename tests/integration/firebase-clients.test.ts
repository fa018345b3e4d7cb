// Which Firestore clients the replica's offline emulator (compose/firebase: @firestore-emulator/server,
// gRPC only) serves, tried with the real client libraries against its image:
//   - the Firebase JS client SDK in Node (firebase/firestore, which speaks gRPC there): sign-up, reads
//     and listeners are served; not a listener on a document the same client already read (no
//     update ever comes), nor writes (the emulator has no Write stream) — pinned below;
//   - @google-cloud/firestore (what firebase-admin and the API use, gRPC): served;
//   - the browser SDK's transport (WebChannel: HTTP/1.1 long-polling on /google.firestore.v1.Firestore/
//     Listen/channel): not served — the emulator speaks only HTTP/2 gRPC. Web app developers read
//     through the API in the replica (README, "Firebase").
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deleteApp, initializeApp, type FirebaseApp } from 'firebase/app';
import { connectAuthEmulator, createUserWithEmailAndPassword, getAuth, signOut } from 'firebase/auth';
import {
  connectFirestoreEmulator,
  doc,
  getDoc,
  getFirestore,
  onSnapshot,
  setDoc,
  terminate,
  type Firestore,
} from 'firebase/firestore';
import { firebaseProjectId, StartedFirebase } from '../support/started-firebase.js';

let firebase: StartedFirebase | undefined;
let app: FirebaseApp | undefined;
let db: Firestore;

const emulators = (): StartedFirebase => {
  assert.ok(firebase, 'the emulators started');
  return firebase;
};

before(async () => {
  firebase = await StartedFirebase.start();
  // A client app as the mobile and watch apps configure theirs, pointed at the emulators.
  app = initializeApp(
    { projectId: firebaseProjectId, apiKey: 'replica-emulator-key' },
    `client-${randomBytes(4).toString('hex')}`,
  );
  db = getFirestore(app);
  const [host = '127.0.0.1', port = '8080'] = firebase.firestoreEmulatorHost.split(':');
  connectFirestoreEmulator(db, host, Number(port));
  connectAuthEmulator(getAuth(app), `http://${firebase.authEmulatorHost}`, { disableWarnings: true });
});

after(async () => {
  try {
    if (app) {
      await terminate(db);
      await deleteApp(app);
    }
  } finally {
    await firebase?.stop();
  }
});

/** A client app of its own (its own cache and streams), as one phone would hold. */
function clientApp(): { app: FirebaseApp; db: Firestore } {
  const own = initializeApp(
    { projectId: firebaseProjectId, apiKey: 'replica-emulator-key' },
    `client-${randomBytes(4).toString('hex')}`,
  );
  const ownDb = getFirestore(own);
  const [host = '127.0.0.1', port = '8080'] = emulators().firestoreEmulatorHost.split(':');
  connectFirestoreEmulator(ownDb, host, Number(port));
  return { app: own, db: ownDb };
}

/** Statuses a listener on matches/{id} saw, while `act` runs and for `waitMs` after. */
async function statusesSeen(
  client: Firestore,
  id: string,
  act: () => Promise<void>,
  until: (seen: string[]) => boolean,
  waitMs: number,
): Promise<string[]> {
  const seen: string[] = [];
  const unsubscribe = onSnapshot(doc(client, `matches/${id}`), (snapshot) => seen.push(String(snapshot.get('status'))));
  try {
    // Change only once the listener has its first snapshot, so the change is one it must see.
    for (let attempt = 0; attempt < 100 && seen.length === 0; attempt += 1) await sleep(100);
    await act();
    const deadline = Date.now() + waitMs;
    while (!until(seen) && Date.now() < deadline) await sleep(100);
    return seen;
  } finally {
    unsubscribe();
  }
}

describe('Firestore clients of the offline emulator', () => {
  it('when the Firebase JS client SDK in Node signs up and listens to a match, then it sees what the server wrote, and the change', async () => {
    const auth = getAuth(app);
    const user = await createUserWithEmailAndPassword(
      auth,
      `client-${randomBytes(4).toString('hex')}@example.org`,
      'correct-horse-battery',
    );
    assert.ok(user.user.uid);
    const server = emulators().firestore();
    const id = `match-${randomBytes(4).toString('hex')}`;
    await server.doc(`matches/${id}`).set({ homeTeam: 'Home', awayTeam: 'Away', status: 'scheduled' });
    const seen = await statusesSeen(
      db,
      id,
      () =>
        server
          .doc(`matches/${id}`)
          .update({ status: 'live' })
          .then(() => undefined),
      (statuses) => statuses.includes('live'),
      30_000,
    );
    assert.deepEqual(seen, ['scheduled', 'live']);
    await signOut(auth);
  });

  it('when the client SDK reads a match once, then it gets it', async () => {
    const server = emulators().firestore();
    const id = `read-${randomBytes(4).toString('hex')}`;
    await server.doc(`matches/${id}`).set({ homeTeam: 'Home', status: 'scheduled' });
    assert.equal((await getDoc(doc(db, `matches/${id}`))).get('homeTeam'), 'Home');
  });

  // The emulator's limits with the client SDK, pinned so a newer emulator that lifts them shows up here.
  it('when the client SDK listens to a document it already read, then the emulator sends it no update (a known limit: listen first)', async () => {
    const client = clientApp();
    try {
      const server = emulators().firestore();
      const id = `reread-${randomBytes(4).toString('hex')}`;
      await server.doc(`matches/${id}`).set({ status: 'scheduled' });
      await getDoc(doc(client.db, `matches/${id}`));
      const seen = await statusesSeen(
        client.db,
        id,
        () =>
          server
            .doc(`matches/${id}`)
            .update({ status: 'live' })
            .then(() => undefined),
        (statuses) => statuses.includes('live'),
        5_000,
      );
      assert.deepEqual(
        seen,
        ['scheduled'],
        'the update arrived: the emulator now resumes listen targets; update the README',
      );
    } finally {
      await terminate(client.db);
      await deleteApp(client.app);
    }
  });

  it('when the client SDK writes, then the emulator never acknowledges it (no Write stream; the apps write nothing anyway)', async () => {
    const client = clientApp();
    try {
      const write = setDoc(doc(client.db, `matches/client-${randomBytes(4).toString('hex')}`), {
        status: 'from-a-client',
      }).then(() => 'acknowledged');
      assert.equal(await Promise.race([write, sleep(5_000).then(() => 'never acknowledged')]), 'never acknowledged');
    } finally {
      await terminate(client.db);
      await deleteApp(client.app);
    }
  });

  it('when @google-cloud/firestore (the server client) writes and reads, then it is served', async () => {
    const server = emulators().firestore();
    const ref = server.doc(`matches/server-${randomBytes(4).toString('hex')}`);
    await ref.set({ status: 'finished', officialUids: ['a', 'b'] });
    assert.deepEqual((await ref.get()).data(), { status: 'finished', officialUids: ['a', 'b'] });
  });

  it("when the browser SDK's WebChannel transport asks to listen, then the emulator does not serve it (gRPC over HTTP/2 only)", async () => {
    const url =
      `http://${emulators().firestoreEmulatorHost}/google.firestore.v1.Firestore/Listen/channel` +
      `?database=projects%2F${firebaseProjectId}%2Fdatabases%2F(default)&VER=8&RID=1&CVER=22&X-HTTP-Session-Id=gsessionid&t=1`;
    const answer = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'count=0',
      signal: AbortSignal.timeout(5_000),
    }).then(
      (response) => `HTTP ${response.status}`,
      (error: unknown) => `no HTTP/1.1 answer (${String((error as { cause?: unknown }).cause ?? error)})`,
    );
    assert.doesNotMatch(answer, /^HTTP 2\d\d$/, `WebChannel was answered: ${answer}`);
  });
});
