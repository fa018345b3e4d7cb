import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getAuth, type Auth } from 'firebase-admin/auth';
import { GenericContainer, Wait } from 'testcontainers';
import type { ContainerHandle } from './attached-container.js';
import { useRyukOnlyWhereAvailable } from './ryuk.js';
import { buildServiceImage } from './service-image.js';

export const firebaseProjectId = 'refereezy-local';

export interface IdToken {
  uid: string;
  idToken: string;
}

/** The replica's firebase service (Auth + Firestore emulators) as a container of its own. */
export class StartedFirebase {
  private readonly clients: Firestore[] = [];
  private readonly apps: App[] = [];

  private constructor(
    readonly container: ContainerHandle,
    /** Another file's container, shared for the run: stop() leaves it running. */
    private readonly shared = false,
  ) {}

  /** The emulators of a container already started (and healthy), as shared by the API suites. */
  static attach(container: ContainerHandle, shared: boolean): StartedFirebase {
    return new StartedFirebase(container, shared);
  }

  static async start(): Promise<StartedFirebase> {
    await useRyukOnlyWhereAvailable();
    const container = await new GenericContainer(await buildServiceImage('firebase'))
      .withEnvironment({ FIREBASE_PROJECT_ID: firebaseProjectId })
      .withExposedPorts(9099, 8080)
      // The image's own check, with more patience: on a loaded CI machine firebase-tools' Auth
      // emulator can take longer than the image's 60 s start period, and one slow start is not a fault.
      .withHealthCheck({
        test: ['CMD', 'node', '/srv/refereezy/firebase/healthcheck.mjs'],
        interval: 5_000,
        timeout: 10_000,
        retries: 5,
        startPeriod: 180_000,
      })
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(240_000)
      .start();
    return new StartedFirebase(container);
  }

  get authEmulatorHost(): string {
    return `${this.container.getHost()}:${this.container.getMappedPort(9099)}`;
  }

  get firestoreEmulatorHost(): string {
    return `${this.container.getHost()}:${this.container.getMappedPort(8080)}`;
  }

  /** An ID token for the user (created on first use), minted by the image's own id-token.mjs. */
  async idToken(email: string, role: 'admin' | 'referee'): Promise<IdToken> {
    const { exitCode, stdout, stderr } = await this.container.exec([
      'node',
      'id-token.mjs',
      '--email',
      email,
      '--role',
      role,
    ]);
    if (exitCode !== 0) throw new Error(`id-token.mjs failed for ${email}: ${stderr || stdout}`);
    return JSON.parse(stdout) as IdToken;
  }

  /**
   * The Admin SDK's Auth on this emulator, as an operator (or the Firebase console) changes users
   * behind the API's back: revoke, disable, change claims. firebase-admin finds the emulator only
   * through the environment, which this sets for the whole process.
   */
  adminAuth(): Auth {
    process.env.FIREBASE_AUTH_EMULATOR_HOST = this.authEmulatorHost;
    const app = initializeApp(
      {
        projectId: firebaseProjectId,
        credential: { getAccessToken: () => Promise.resolve({ access_token: 'owner', expires_in: 3600 }) },
      },
      `tests-${randomUUID()}`,
    );
    this.apps.push(app);
    return getAuth(app);
  }

  /** A Firestore client of the emulator, as an app listening to a match would hold. */
  firestore(): Firestore {
    const firestore = new Firestore({ projectId: firebaseProjectId, host: this.firestoreEmulatorHost, ssl: false });
    this.clients.push(firestore);
    return firestore;
  }

  async stop(): Promise<void> {
    try {
      await Promise.all([
        ...this.clients.splice(0).map((client) => client.terminate()),
        ...this.apps.splice(0).map((app) => deleteApp(app)),
      ]);
    } finally {
      if (!this.shared) await this.container.stop();
    }
  }
}
