import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { loadConfig } from '../../api/src/config.js';
import { createLogger } from '../../api/src/logger.js';
import { startServer, type StartedServer } from '../../api/src/server.js';
import { useRyukOnlyWhereAvailable } from './ryuk.js';
import { buildServiceImage } from './service-image.js';

/**
 * The API running in this process against the replica's real PostgreSQL image (a container of its
 * own): what the API does, observed over HTTP, with the database's rules in force.
 */
export class StartedApi implements AsyncDisposable {
  private constructor(
    readonly database: StartedTestContainer,
    readonly server: StartedServer,
    /** The API's log, one ECS JSON object a line, as it would go to stdout. */
    readonly logLines: string[],
  ) {}

  static async start(): Promise<StartedApi> {
    await useRyukOnlyWhereAvailable();
    const password = randomBytes(18).toString('base64url');
    const database = await new GenericContainer(await buildServiceImage('db'))
      .withEnvironment({ APP_DB_PASSWORD: password })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(120_000)
      .start();
    const config = loadConfig({
      API_PORT: '0',
      METRICS_PORT: '0',
      DB_HOST: database.getHost(),
      DB_PORT: String(database.getMappedPort(5432)),
      DB_NAME: 'refereezy',
      DB_USER: 'refereezy',
      DB_PASSWORD: password,
      LOG_LEVEL: 'info',
    });
    const logs = new PassThrough();
    const lines: string[] = [];
    createInterface({ input: logs }).on('line', (line) => lines.push(line));
    try {
      return new StartedApi(database, await startServer(config, createLogger(config.LOG_LEVEL, logs)), lines);
    } catch (error) {
      await database.stop();
      throw error;
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  get metricsUrl(): string {
    return `http://127.0.0.1:${this.server.metricsPort}/metrics`;
  }

  /** Runs SQL as the postgres superuser inside the database container; returns psql's output. */
  async psql(sql: string): Promise<{ exitCode: number; output: string }> {
    const { exitCode, output } = await this.database.exec(['psql', '-XtA', '-v', 'ON_ERROR_STOP=1', '-d', 'refereezy', '-c', sql]);
    return { exitCode, output: output.trim() };
  }

  async stop(): Promise<void> {
    try {
      await this.server.stop();
    } finally {
      await this.database.stop();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
