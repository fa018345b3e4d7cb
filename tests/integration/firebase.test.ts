// The firebase service's image (compose/firebase): the Auth emulator and the Firestore emulator in one
// container, checked the way the API will use them, through firebase-admin, and by a client signing
// in over the Auth emulator's REST API.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getAuth, type Auth } from 'firebase-admin/auth';
import { getFirestore, type DocumentSnapshot, type Firestore } from 'firebase-admin/firestore';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { postJson } from '../support/http.js';
import { useRyukOnlyWhereAvailable } from '../support/ryuk.js';
import { buildServiceImage } from '../support/service-image.js';

const run = promisify(execFile);
let image: string;
const projectId = 'refereezy-test';
const authPort = 9099;
const firestorePort = 8080;

/** Starts the image and waits for its healthcheck; `offline`: with no network but loopback. */
function startEmulators({ offline = false } = {}): Promise<StartedTestContainer> {
  const container = new GenericContainer(image)
    .withEnvironment({ FIREBASE_PROJECT_ID: projectId })
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(120_000);
  // Docker refuses published ports on a container without a network.
  return (offline ? container.withNetworkMode('none') : container.withExposedPorts(authPort, firestorePort)).start();
}

async function containerState(container: StartedTestContainer): Promise<{ status: string; exitCode: number }> {
  const { stdout } = await run('docker', [
    'inspect',
    '--format',
    '{{.State.Status}} {{.State.ExitCode}}',
    container.getId(),
  ]);
  const [status = '', exitCode = ''] = stdout.trim().split(' ');
  return { status, exitCode: Number(exitCode) };
}

async function printLogs(container: StartedTestContainer): Promise<void> {
  const chunks: string[] = [];
  for await (const chunk of await container.logs({ tail: 80 })) chunks.push(String(chunk));
  console.error(`── firebase ──\n${chunks.join('')}`);
}

let emulators: StartedTestContainer | undefined;
let app: App | undefined;
let auth: Auth;
let firestore: Firestore;
let authUrl: string;

before(async () => {
  await useRyukOnlyWhereAvailable();
  image = await buildServiceImage('firebase');
  emulators = await startEmulators();
  const authHost = `${emulators.getHost()}:${emulators.getMappedPort(authPort)}`;
  authUrl = `http://${authHost}`;
  // firebase-admin reads these when a service is first used; with them it needs no credentials and
  // (no metadata server probing) talks to nothing but the emulators.
  process.env.FIREBASE_AUTH_EMULATOR_HOST = authHost;
  process.env.FIRESTORE_EMULATOR_HOST = `${emulators.getHost()}:${emulators.getMappedPort(firestorePort)}`;
  process.env.METADATA_SERVER_DETECTION = 'none';
  app = initializeApp({ projectId }, `firebase-test-${randomBytes(4).toString('hex')}`);
  auth = getAuth(app);
  firestore = getFirestore(app);
});

after(async () => {
  try {
    if (app) {
      await getFirestore(app).terminate();
      await deleteApp(app);
    }
    if (emulators && (await containerState(emulators)).status !== 'running') await printLogs(emulators);
  } finally {
    await emulators?.stop({ timeout: 10_000 });
  }
});

describe('the container', () => {
  it('when it runs, then the emulators run as an unprivileged user', async () => {
    assert.ok(emulators);
    const { exitCode, output } = await emulators.exec(['id', '-un']);
    assert.equal(exitCode, 0);
    assert.equal(output.trim(), 'firebase');
  });
});

describe('Auth emulator', () => {
  async function signIn(email: string, password: string): Promise<string> {
    const answer = await postJson(`${authUrl}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=any`, {
      email,
      password,
      returnSecureToken: true,
    });
    assert.equal(answer.status, 200, answer.body);
    const { idToken } = JSON.parse(answer.body) as { idToken?: string };
    assert.ok(idToken, 'the sign-in returns an ID token');
    return idToken;
  }

  it('when a user created with firebase-admin signs in over REST, then its ID token verifies as that user', async () => {
    const email = `referee-${randomBytes(4).toString('hex')}@example.org`;
    const user = await auth.createUser({ email, password: 'correct-horse-battery', displayName: 'Pierluigi Collina' });
    const decoded = await auth.verifyIdToken(await signIn(email, 'correct-horse-battery'));
    assert.equal(decoded.uid, user.uid);
    assert.equal(decoded.email, email);
    assert.equal(decoded.aud, projectId);
    assert.equal(decoded.firebase.sign_in_provider, 'password');
  });

  it('when the password is wrong, then the sign-in is refused', async () => {
    const email = `wrong-${randomBytes(4).toString('hex')}@example.org`;
    await auth.createUser({ email, password: 'correct-horse-battery' });
    const answer = await postJson(`${authUrl}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=any`, {
      email,
      password: 'not-the-password',
      returnSecureToken: true,
    });
    assert.equal(answer.status, 400);
    assert.match(answer.body, /INVALID_(PASSWORD|LOGIN_CREDENTIALS)/);
  });

  it('when a custom claim is set, then a fresh token carries it and the old one does not', async () => {
    const email = `admin-${randomBytes(4).toString('hex')}@example.org`;
    const user = await auth.createUser({ email, password: 'correct-horse-battery' });
    const before = await auth.verifyIdToken(await signIn(email, 'correct-horse-battery'));
    assert.equal(before.role, undefined);

    await auth.setCustomUserClaims(user.uid, { role: 'admin' });
    const after = await auth.verifyIdToken(await signIn(email, 'correct-horse-battery'));
    assert.equal(after.uid, user.uid);
    assert.equal(after.role, 'admin');
    assert.deepEqual((await auth.getUser(user.uid)).customClaims, { role: 'admin' });
  });
});

describe('Firestore emulator', () => {
  it('when a document is set, then it reads back with its fields and types', async () => {
    const ref = firestore.collection('referees').doc(`ref-${randomBytes(4).toString('hex')}`);
    await ref.set({
      name: 'Bibiana Steinhaus',
      licenceLevel: 'international',
      matches: 42,
      active: true,
      tags: ['var', 'uefa'],
    });
    const snapshot = await ref.get();
    assert.equal(snapshot.exists, true);
    assert.deepEqual(snapshot.data(), {
      name: 'Bibiana Steinhaus',
      licenceLevel: 'international',
      matches: 42,
      active: true,
      tags: ['var', 'uefa'],
    });
    assert.equal((await firestore.collection('referees').doc('nobody').get()).exists, false);
  });

  it('when a collection is queried, then only the matching documents come back, in order', async () => {
    const league = firestore.collection(`leagues-${randomBytes(4).toString('hex')}`);
    await Promise.all([
      league.doc('a').set({ name: 'Anna', level: 'regional', matches: 10 }),
      league.doc('b').set({ name: 'Ben', level: 'national', matches: 30 }),
      league.doc('c').set({ name: 'Cleo', level: 'national', matches: 20 }),
    ]);
    const national = await league.where('level', '==', 'national').orderBy('matches', 'desc').get();
    assert.deepEqual(
      national.docs.map((doc) => doc.get('name') as string),
      ['Ben', 'Cleo'],
    );
  });

  it('when a watched document changes, then onSnapshot delivers the new value', async () => {
    const ref = firestore.collection('matches').doc(`match-${randomBytes(4).toString('hex')}`);
    await ref.set({ status: 'scheduled' });
    const seen: string[] = [];
    const updated = new Promise<void>((resolve, reject) => {
      const unsubscribe = ref.onSnapshot((snapshot: DocumentSnapshot) => {
        seen.push(String(snapshot.get('status')));
        if (snapshot.get('status') === 'live') {
          unsubscribe();
          resolve();
        }
      }, reject);
    });
    // Write only once the listener has its first snapshot, so the update is a change it sees.
    for (let attempt = 0; attempt < 50 && seen.length === 0; attempt += 1) await sleep(100);
    assert.deepEqual(seen, ['scheduled']);
    await ref.update({ status: 'live' });
    await Promise.race([
      updated,
      sleep(10_000).then(() => {
        throw new Error(`no snapshot with the update within 10 s (seen: ${seen.join(', ')})`);
      }),
    ]);
    assert.deepEqual(seen, ['scheduled', 'live']);
  });

  it('when a transaction reads and writes, then its writes are committed together', async () => {
    const counter = firestore.collection('counters').doc(`c-${randomBytes(4).toString('hex')}`);
    const log = firestore.collection('counter-log').doc(counter.id);
    await counter.set({ value: 1 });
    const result = await firestore.runTransaction(async (transaction) => {
      const current = (await transaction.get(counter)).get('value') as number;
      transaction.update(counter, { value: current + 1 });
      transaction.set(log, { from: current, to: current + 1 });
      return current + 1;
    });
    assert.equal(result, 2);
    assert.equal((await counter.get()).get('value'), 2);
    assert.deepEqual((await log.get()).data(), { from: 1, to: 2 });
  });
});

describe('offline and supervised', () => {
  it('when the container has no network at all, then both emulators still become healthy; when one dies, the container stops', async () => {
    const isolated = await startEmulators({ offline: true });
    try {
      // Kill the Auth emulator (firebase-tools), found by its command line; the probe's own command
      // line must not match, hence the split string.
      const { exitCode, output } = await isolated.exec([
        'node',
        '-e',
        `const fs = require('fs');
         const needle = 'emulators' + ':start';
         const pid = fs.readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p))
           .find((p) => { try { return fs.readFileSync('/proc/' + p + '/cmdline', 'utf8').includes(needle); } catch { return false; } });
         process.kill(Number(pid), 'SIGKILL');`,
      ]);
      assert.equal(exitCode, 0, output);
      let state = await containerState(isolated);
      for (let attempt = 0; attempt < 50 && state.status === 'running'; attempt += 1) {
        await sleep(200);
        state = await containerState(isolated);
      }
      assert.deepEqual(state, { status: 'exited', exitCode: 1 });
    } finally {
      await isolated.stop({ timeout: 10_000 });
    }
  });
});
