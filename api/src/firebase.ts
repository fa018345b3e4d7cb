import { randomUUID } from 'node:crypto';
import { applicationDefault, deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getAuth, type Auth } from 'firebase-admin/auth';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import type { ApiConfig } from './config.js';

export interface Firebase {
  auth: Auth;
  firestore: Firestore;
  close(): Promise<void>;
}

/**
 * The API's Firebase app: Auth verifies ID tokens, Firestore receives the real-time mirror. With
 * the emulators (the replica) no credentials are needed; in production the machine's are used.
 */
export function connectFirebase(config: ApiConfig): Firebase {
  const usesEmulators = config.FIREBASE_AUTH_EMULATOR_HOST !== undefined;
  if (usesEmulators) {
    // firebase-admin reads the Auth emulator's address from the environment only.
    process.env.FIREBASE_AUTH_EMULATOR_HOST = config.FIREBASE_AUTH_EMULATOR_HOST;
  }
  const app: App = initializeApp(
    { projectId: config.FIREBASE_PROJECT_ID, ...(usesEmulators ? {} : { credential: applicationDefault() }) },
    `refereezy-api-${randomUUID()}`,
  );
  const firestore = getFirestore(app);
  if (config.FIRESTORE_EMULATOR_HOST) {
    firestore.settings({ host: config.FIRESTORE_EMULATOR_HOST, ssl: false, ignoreUndefinedProperties: true });
  }
  return { auth: getAuth(app), firestore, close: () => deleteApp(app) };
}
