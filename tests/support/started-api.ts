import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { GenericContainer, Wait } from 'testcontainers';
import { loadConfig, type ApiConfig } from '../../api/src/config.js';
import { createLogger } from '../../api/src/logger.js';
import { startServer, type StartedServer } from '../../api/src/server.js';
import { ApiClient } from './api-client.js';
import { attachContainer, type ContainerHandle } from './attached-container.js';
import { json } from './http.js';
import { useRyukOnlyWhereAvailable } from './ryuk.js';
import { buildServiceImage } from './service-image.js';
import { firebaseProjectId, StartedFirebase } from './started-firebase.js';
import { forget, share, sharingWanted, withSharedLock } from './shared-replica.js';
import { TcpProxy } from './tcp-proxy.js';

/** The API suites' containers as shared for a run (.local/shared-replicas/). */
interface SharedContainers {
  databaseId: string;
  firebaseId: string;
  password: string;
}

interface StartedContainers {
  database: ContainerHandle;
  firebase: StartedFirebase;
  password: string;
  shared: boolean;
}

export interface SignedInReferee {
  id: number;
  uid: string;
  email: string;
  client: ApiClient;
}

/**
 * The API running in this process against the replica's real PostgreSQL and firebase images
 * (containers of their own): what the API does, observed over HTTP, with the database's rules and
 * real Firebase ID tokens in force.
 */
export class StartedApi implements AsyncDisposable {
  private constructor(
    readonly database: ContainerHandle,
    readonly firebase: StartedFirebase,
    /** The API reaches Firestore through this proxy, so tests can cut that path alone. */
    readonly firestorePath: TcpProxy,
    readonly server: StartedServer,
    /** The API's log, one ECS JSON object a line, as it would go to stdout. */
    readonly logLines: string[],
    /** An admin's client (role=admin claim). */
    readonly admin: ApiClient,
    /** The configuration the API runs with (to start another against the same containers). */
    readonly config: ApiConfig,
    /** The containers are the run's shared ones: stop() leaves them for the next file. */
    private readonly sharedContainers = false,
  ) {}

  /**
   * `settings` override the API's environment (timeouts, pool size…). Under the test runner the
   * database and firebase containers are the run's shared ones (started by the first API suite,
   * attached to by the next: tests/support/shared-replica.ts); each caller gets its own API process
   * and Firestore path. `API_CONTAINERS_SHARING=off` gives each its own containers.
   */
  static async start(settings: Record<string, string> = {}): Promise<StartedApi> {
    await useRyukOnlyWhereAvailable();
    const containers =
      sharingWanted() && process.env.API_CONTAINERS_SHARING !== 'off'
        ? await withSharedLock<SharedContainers, StartedContainers>('api-containers', async (existing) => {
            if (existing) {
              try {
                const [database, firebase] = await Promise.all([
                  attachContainer(existing.databaseId),
                  attachContainer(existing.firebaseId),
                ]);
                return {
                  database,
                  firebase: StartedFirebase.attach(firebase, true),
                  password: existing.password,
                  shared: true,
                };
              } catch (error) {
                console.error(
                  `the API suites' shared containers could not be attached to (${String(error)}): starting others`,
                );
                await forget('api-containers', [
                  'docker',
                  'rm',
                  '--force',
                  '--volumes',
                  existing.databaseId,
                  existing.firebaseId,
                ]);
              }
            }
            const started = await StartedApi.startContainers();
            const ids = { databaseId: started.database.getId(), firebaseId: started.firebase.container.getId() };
            share(
              'api-containers',
              { ...ids, password: started.password },
              `docker rm --force --volumes ${ids.databaseId} ${ids.firebaseId}`,
            );
            return { ...started, firebase: StartedFirebase.attach(started.firebase.container, true), shared: true };
          })
        : { ...(await StartedApi.startContainers()), shared: false };
    const { database, firebase, password } = containers;
    const [firestoreHost = '', firestorePort = ''] = firebase.firestoreEmulatorHost.split(':');
    const firestorePath = await TcpProxy.start(firestoreHost, Number(firestorePort));
    const config = loadConfig({
      API_PORT: '0',
      METRICS_PORT: '0',
      DB_HOST: database.getHost(),
      DB_PORT: String(database.getMappedPort(5432)),
      DB_NAME: 'refereezy',
      DB_USER: 'refereezy',
      DB_PASSWORD: password,
      FIREBASE_PROJECT_ID: firebaseProjectId,
      FIREBASE_AUTH_EMULATOR_HOST: firebase.authEmulatorHost,
      FIRESTORE_EMULATOR_HOST: firestorePath.address,
      REALTIME_MAX_BACKOFF_MS: '1000',
      // Off: the suites send hundreds of writes as one user (the fuzz test thousands); the limit's
      // own test (operations.test.ts) starts an API with it on.
      API_WRITE_LIMIT_BURST: '0',
      LOG_LEVEL: 'info',
      ...settings,
    });
    const logs = new PassThrough();
    const lines: string[] = [];
    createInterface({ input: logs }).on('line', (line) => lines.push(line));
    try {
      const server = await startServer(config, createLogger(config.LOG_LEVEL, logs));
      const admin = new ApiClient(
        `http://127.0.0.1:${server.port}`,
        (await firebase.idToken(`admin-${randomUUID()}@refereezy.test`, 'admin')).idToken,
      );
      return new StartedApi(database, firebase, firestorePath, server, lines, admin, config, containers.shared);
    } catch (error) {
      await Promise.all([containers.shared ? undefined : database.stop(), firebase.stop(), firestorePath.stop()]);
      throw error;
    }
  }

  /** A database and a firebase container of this caller's own, healthy. */
  private static async startContainers(): Promise<{
    database: ContainerHandle;
    firebase: StartedFirebase;
    password: string;
  }> {
    const password = randomBytes(18).toString('base64url');
    const starting = await Promise.allSettled([
      buildServiceImage('db').then((image) =>
        new GenericContainer(image)
          .withEnvironment({ DB_PASSWORD: password, MONITOR_DB_PASSWORD: randomBytes(18).toString('base64url') })
          .withExposedPorts(5432)
          .withWaitStrategy(Wait.forHealthCheck())
          .withStartupTimeout(120_000)
          .start(),
      ),
      StartedFirebase.start(),
    ] as const);
    const [databaseStart, firebaseStart] = starting;
    if (databaseStart.status === 'rejected' || firebaseStart.status === 'rejected') {
      // One failed to start: the other, if it did, must not outlive the run.
      await Promise.allSettled([
        databaseStart.status === 'fulfilled' ? databaseStart.value.stop() : undefined,
        firebaseStart.status === 'fulfilled' ? firebaseStart.value.stop() : undefined,
      ]);
      throw databaseStart.status === 'rejected'
        ? databaseStart.reason
        : (firebaseStart as PromiseRejectedResult).reason;
    }
    return { database: databaseStart.value, firebase: firebaseStart.value, password };
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  get metricsUrl(): string {
    return `http://127.0.0.1:${this.server.metricsPort}/metrics`;
  }

  /** A client with no token. */
  get anonymous(): ApiClient {
    return new ApiClient(this.url);
  }

  /** A new Firebase user, registered by the admin as a referee linked to it, and its client. */
  async newReferee(name = 'Referee'): Promise<SignedInReferee> {
    const email = `referee-${randomUUID()}@refereezy.test`;
    const { uid, idToken } = await this.firebase.idToken(email, 'referee');
    const answer = await this.admin.post('/api/referees', { name, email, licenceLevel: 'national', firebaseUid: uid });
    assert.equal(answer.status, 201, answer.body);
    return { id: json<{ id: number }>(answer).id, uid, email, client: new ApiClient(this.url, idToken) };
  }

  /** Runs SQL as the postgres superuser inside the database container; returns psql's output. */
  async psql(sql: string): Promise<{ exitCode: number; output: string }> {
    const { exitCode, output } = await this.database.exec([
      'psql',
      '-XtA',
      '-v',
      'ON_ERROR_STOP=1',
      '-d',
      'refereezy',
      '-c',
      sql,
    ]);
    return { exitCode, output: output.trim() };
  }

  async stop(): Promise<void> {
    try {
      await this.server.stop();
    } finally {
      await Promise.all([
        this.sharedContainers ? undefined : this.database.stop(),
        this.firebase.stop(),
        this.firestorePath.stop(),
      ]);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
