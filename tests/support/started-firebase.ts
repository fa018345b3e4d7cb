import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { useRyukOnlyWhereAvailable } from './ryuk.js';
import { buildServiceImage } from './service-image.js';

const run = promisify(execFile);
export const firebaseProjectId = 'refereezy-local';

export interface IdToken {
  uid: string;
  idToken: string;
}

/** The replica's firebase service (Auth + Firestore emulators) as a container of its own. */
export class StartedFirebase {
  private constructor(readonly container: StartedTestContainer) {}

  static async start(): Promise<StartedFirebase> {
    await useRyukOnlyWhereAvailable();
    const container = await new GenericContainer(await buildServiceImage('firebase'))
      .withEnvironment({ FIREBASE_PROJECT_ID: firebaseProjectId })
      .withExposedPorts(9099, 8080)
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(120_000)
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
    const { exitCode, stdout, stderr } = await this.container.exec(['node', 'id-token.mjs', '--email', email, '--role', role]);
    if (exitCode !== 0) throw new Error(`id-token.mjs failed for ${email}: ${stderr || stdout}`);
    return JSON.parse(stdout) as IdToken;
  }

  /** Freezes the emulators (an outage: connections hang, as when a network path is lost). */
  async pause(): Promise<void> {
    await run('docker', ['pause', this.container.getId()]);
  }

  async unpause(): Promise<void> {
    await run('docker', ['unpause', this.container.getId()]);
  }

  async stop(): Promise<void> {
    await this.container.stop();
  }
}
