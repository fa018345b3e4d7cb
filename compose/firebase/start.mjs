// Runs the two emulators of the firebase service in one container: Firestore
// (@firestore-emulator/server, in this process) and Auth (firebase-tools, a child process). When
// either stops, this process stops the other and exits, so the container stops and its restart
// policy applies.
import { spawn } from 'node:child_process';
import { FirestoreServer } from '@firestore-emulator/server';

const projectId = process.env.FIREBASE_PROJECT_ID || 'refereezy-local';
const firestorePort = 8080; // the Auth emulator's port (9099) is set in firebase.json

const firestore = new FirestoreServer();
try {
  await firestore.start(firestorePort);
} catch (error) {
  console.error(`firestore: cannot listen on 0.0.0.0:${firestorePort}:`, error);
  process.exit(1);
}
console.log(`firestore: emulator listening on 0.0.0.0:${firestorePort} (gRPC)`);

// Without a cap the CLI keeps ~400 MiB resident after start-up (it compiles the Auth API's OpenAPI
// spec); with it, about half, and an emulator's handful of users fits easily.
const auth = spawn(
  process.execPath,
  [
    '--max-old-space-size=256',
    'node_modules/firebase-tools/lib/bin/firebase.js',
    'emulators:start',
    '--only',
    'auth',
    '--project',
    projectId,
  ],
  { stdio: 'inherit' },
);

let stopping = false;
auth.on('exit', (code, signal) => {
  if (!stopping) console.error(`auth: emulator exited (${signal ?? `code ${code}`}); stopping the container`);
  firestore.stop();
  process.exit(stopping ? 0 : 1);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping the emulators`);
    firestore.stop();
    auth.kill('SIGTERM');
    // firebase-tools shuts its emulators down on SIGTERM; never wait past Docker's grace period.
    setTimeout(() => auth.kill('SIGKILL'), 8_000).unref();
  });
}
