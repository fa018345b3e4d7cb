// Which Firestore clients the replica's offline emulator (compose/firebase: @firestore-emulator/server,
// gRPC only) serves, tried with the real client libraries against its image:
//   - the Firebase JS client SDK in Node (firebase/firestore, which speaks gRPC there): served;
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
import { connectFirestoreEmulator, doc, getDoc, getFirestore, onSnapshot, terminate, type Firestore } from 'firebase/firestore';
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
  app = initializeApp({ projectId: firebaseProjectId, apiKey: 'replica-emulator-key' }, `client-${randomBytes(4).toString('hex')}`);
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

describe('Firestore clients of the offline emulator', () => {
  it('when the Firebase JS client SDK in Node signs up, reads a match and listens to it, then it sees what the server wrote, and the change', async () => {
    const auth = getAuth(app);
    const user = await createUserWithEmailAndPassword(auth, `client-${randomBytes(4).toString('hex')}@example.org`, 'correct-horse-battery');
    assert.ok(user.user.uid);
    const server = emulators().firestore();
    const id = `match-${randomBytes(4).toString('hex')}`;
    await server.doc(`matches/${id}`).set({ homeTeam: 'Home', awayTeam: 'Away', status: 'scheduled' });

    const read = await getDoc(doc(db, `matches/${id}`));
    assert.equal(read.get('homeTeam'), 'Home');

    const seen: string[] = [];
    const live = new Promise<void>((resolve, reject) => {
      const unsubscribe = onSnapshot(
        doc(db, `matches/${id}`),
        (snapshot) => {
          seen.push(String(snapshot.get('status')));
          if (snapshot.get('status') === 'live') {
            unsubscribe();
            resolve();
          }
        },
        reject,
      );
    });
    for (let attempt = 0; attempt < 50 && seen.length === 0; attempt += 1) await sleep(100);
    await server.doc(`matches/${id}`).update({ status: 'live' });
    await Promise.race([live, sleep(10_000).then(() => assert.fail(`no snapshot with the update within 10 s (seen: ${seen.join(', ')})`))]);
    assert.deepEqual(seen, ['scheduled', 'live']);
    await signOut(auth);
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
    const answer = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'count=0', signal: AbortSignal.timeout(5_000) }).then(
      (response) => `HTTP ${response.status}`,
      (error: unknown) => `no HTTP/1.1 answer (${String((error as { cause?: unknown }).cause ?? error)})`,
    );
    assert.doesNotMatch(answer, /^HTTP 2\d\d$/, `WebChannel was answered: ${answer}`);
  });
});
