import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { applicationDefault, deleteApp, initializeApp, type App, type Credential } from 'firebase-admin/app';
import { getAuth, type Auth } from 'firebase-admin/auth';
import { Firestore } from '@google-cloud/firestore';
import { getFirestore } from 'firebase-admin/firestore';
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
/**
 * The emulators accept the "owner" token. Giving it explicitly keeps Google's auth library from
 * looking for credentials, which would probe the cloud metadata server from a developer's machine.
 */
export const emulatorCredential: Credential = {
  getAccessToken: () => Promise.resolve({ access_token: 'owner', expires_in: 3600 }),
};

export function connectFirebase(config: ApiConfig): Firebase {
  const usesEmulators = config.FIREBASE_AUTH_EMULATOR_HOST !== undefined;
  if (usesEmulators) {
    // firebase-admin reads the Auth emulator's address from the environment only.
    process.env.FIREBASE_AUTH_EMULATOR_HOST = config.FIREBASE_AUTH_EMULATOR_HOST;
    process.env.METADATA_SERVER_DETECTION = 'none';
  }
  // Every request looks the caller up in Firebase Auth: one kept-alive connection per concurrent
  // lookup instead of a new TCP (and, in production, TLS) handshake each time.
  const httpAgent = usesEmulators ? new HttpAgent({ keepAlive: true }) : new HttpsAgent({ keepAlive: true });
  const app: App = initializeApp(
    {
      projectId: config.FIREBASE_PROJECT_ID,
      credential: usesEmulators ? emulatorCredential : applicationDefault(),
      httpAgent,
    },
    `refereezy-api-${randomUUID()}`,
  );
  // The emulator speaks plain gRPC and takes the "owner" token that the client sends when ssl is
  // off; firebase-admin's getFirestore would insist on Google credentials.
  const firestore = config.FIRESTORE_EMULATOR_HOST
    ? new Firestore({ projectId: config.FIREBASE_PROJECT_ID, host: config.FIRESTORE_EMULATOR_HOST, ssl: false })
    : getFirestore(app);
  return {
    auth: getAuth(app),
    firestore,
    close: async () => {
      await firestore.terminate();
      await deleteApp(app);
      httpAgent.destroy();
    },
  };
}
