import {
  DockerComposeEnvironment,
  Wait,
  getContainerRuntimeClient,
  type ContainerRuntimeClient,
  type StartedDockerComposeEnvironment,
  type StartedTestContainer,
} from 'testcontainers';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import ssh2 from 'ssh2';
import { NetworkTap } from './network-tap.js';
import { useRyukOnlyWhereAvailable } from './ryuk.js';
import { repoRoot } from './paths.js';
import { buildCaBundle } from './build-ca.js';
import { trustLocalCa } from './local-ca.js';
import {
  forgetSharedReplica,
  shareReplica,
  sharingWanted,
  withSharedReplicaLock,
  type SharedReplicaState,
} from './shared-replica.js';

export type ServiceName =
  | 'cdn-tls'
  | 'cdn'
  | 'lb'
  | 'web1'
  | 'web2'
  | 'api'
  | 'db'
  | 'firebase'
  | 'mail'
  | 'bastion'
  | 'prometheus'
  | 'alertmanager'
  | 'sms-notifier'
  | 'daily-report'
  | 'node-exporter'
  | 'postgres-exporter'
  | 'blackbox-exporter'
  | 'web1-exporter'
  | 'web2-exporter'
  | 'deadman'
  | 's3'
  | 'assets-origin';
export const services: readonly ServiceName[] = [
  'cdn-tls',
  'cdn',
  'lb',
  'web1',
  'web2',
  'api',
  'db',
  'firebase',
  'mail',
  'bastion',
  'prometheus',
  'alertmanager',
  'sms-notifier',
  'daily-report',
  'node-exporter',
  'postgres-exporter',
  'blackbox-exporter',
  'web1-exporter',
  'web2-exporter',
  'deadman',
  's3',
  'assets-origin',
];
export const publicServices: readonly ServiceName[] = ['cdn-tls', 'cdn', 'lb', 'web1', 'web2', 'bastion'];

/** The dead man's switch's timeout in the tests: above Alertmanager's one-minute Watchdog repeat, short enough to wait for. */
export const deadmanTimeoutSeconds = 100;

export interface SshKeyPair {
  privateKey: string;
  publicKey: string;
}

/**
 * The replica as docker-compose.yml defines it, started by Testcontainers under a project name of
 * its own, with fresh secrets and ephemeral host ports, so runs never collide with a developer's
 * stack or with each other.
 */
export class StartedReplica implements AsyncDisposable {
  private tap: NetworkTap | undefined;

  private constructor(
    readonly projectName: string,
    private readonly environment: StartedDockerComposeEnvironment,
    private readonly client: ContainerRuntimeClient,
    readonly bastionUser: string,
    readonly bastionKey: SshKeyPair,
    /** IMAP password of the mail service's catch-all mailbox (user catchall). */
    readonly mailCatchallPassword: string,
    /** The variables docker-compose.yml was started with: `docker compose` commands on this replica need them. */
    readonly composeEnvironment: Record<string, string>,
    /** Shared with the run's other files: down() leaves it up, for them (its reaper removes it). */
    readonly shared = false,
  ) {}

  /** extraComposeFiles: overlays after docker-compose.yml (absolute paths), e.g. fixed subnets when Docker's default pools are used up. */
  /**
   * Under the test runner, the run's one shared replica (started by the first file that asks,
   * attached to by the others: tests/support/shared-replica.ts); elsewhere, or with
   * `{ shared: false }` or extra compose files, a replica of this caller's own. Attaching runs `compose up` again, so a
   * service an earlier file stopped is started again and every service is healthy.
   */
  static async start(options: { shared?: boolean; extraComposeFiles?: string[] } = {}): Promise<StartedReplica> {
    await useRyukOnlyWhereAvailable();
    const extraComposeFiles = options.extraComposeFiles ?? [];
    if (extraComposeFiles.length > 0 || !(options.shared ?? sharingWanted())) {
      return StartedReplica.up(StartedReplica.freshState(), { build: true, shared: false, extraComposeFiles });
    }
    return withSharedReplicaLock(async (existing) => {
      if (existing) {
        try {
          return await StartedReplica.up(existing, { build: false, shared: true });
        } catch (error) {
          console.error(
            `the shared replica ${existing.projectName} could not be attached to (${String(error)}): starting another`,
          );
          await forgetSharedReplica(existing);
        }
      }
      const state = StartedReplica.freshState();
      const replica = await StartedReplica.up(state, { build: true, shared: true });
      shareReplica(state);
      return replica;
    });
  }

  private static freshState(): SharedReplicaState {
    const projectName = `refereezy-test-${randomBytes(4).toString('hex')}`;
    const key = ssh2.utils.generateKeyPairSync('ed25519', { comment: `${projectName}@tests` });
    const bastionKey = { privateKey: key.private, publicKey: key.public };
    const bastionUser = 'ops';
    const mailCatchallPassword = randomBytes(18).toString('base64url');
    const composeEnvironment = {
      COMPOSE_PROJECT_NAME: projectName,
      // Port 0: Docker picks a free port on 127.0.0.1.
      CDN_PORT: '0',
      CDN_TLS_PORT: '0',
      BASTION_PORT: '0',
      DB_PASSWORD: randomBytes(18).toString('base64url'),
      MAIL_CATCHALL_PASSWORD: mailCatchallPassword,
      MONITOR_DB_PASSWORD: randomBytes(18).toString('base64url'),
      BACKUP_CIPHER_PASS: randomBytes(24).toString('base64url'),
      S3_ACCESS_KEY: randomBytes(10).toString('hex'),
      S3_SECRET_KEY: randomBytes(20).toString('base64url'),
      BASTION_USER: bastionUser,
      BASTION_AUTHORIZED_KEYS: bastionKey.publicKey,
      NODE_EXTRA_CA_CERTS: buildCaBundle(),
      DEADMAN_TIMEOUT: `${deadmanTimeoutSeconds}s`,
    };
    return { projectName, composeEnvironment, bastionUser, bastionKey, mailCatchallPassword };
  }

  private static async up(
    state: SharedReplicaState,
    how: { build: boolean; shared: boolean; extraComposeFiles?: string[] },
  ): Promise<StartedReplica> {
    // The edge's certificate must exist before compose mounts it.
    trustLocalCa();
    let compose = new DockerComposeEnvironment(repoRoot, ['docker-compose.yml', ...(how.extraComposeFiles ?? [])])
      .withProjectName(state.projectName)
      .withEnvironment(state.composeEnvironment)
      .withDefaultWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(180_000);
    if (how.build) compose = compose.withBuild();
    const environment = await compose.up();
    return new StartedReplica(
      state.projectName,
      environment,
      await getContainerRuntimeClient(),
      state.bastionUser,
      state.bastionKey,
      state.mailCatchallPassword,
      state.composeEnvironment,
      how.shared,
    );
  }

  container(service: ServiceName): StartedTestContainer {
    return this.environment.getContainer(`${service}-1`);
  }

  /** The public edge, as users reach it: HTTPS (this process trusts the local CA: trustLocalCa). */
  get cdnUrl(): string {
    return `https://localhost:${this.container('cdn-tls').getMappedPort(443)}`;
  }

  /** The edge's plain HTTP port, which only redirects to HTTPS. */
  get cdnPlainUrl(): string {
    return `http://127.0.0.1:${this.container('cdn-tls').getMappedPort(80)}`;
  }

  get bastionPort(): number {
    return this.container('bastion').getMappedPort(22);
  }

  async exec(service: ServiceName, command: string[], user?: string): Promise<{ exitCode: number; output: string }> {
    const result = await this.container(service).exec(command, user ? { user } : {});
    return { exitCode: result.exitCode, output: result.output };
  }

  /** An ID token from the replica's Auth emulator (user created on first use), via its id-token.mjs. */
  async idToken(email: string, role: 'admin' | 'referee'): Promise<string> {
    const { exitCode, output } = await this.exec('firebase', [
      'node',
      'id-token.mjs',
      '--email',
      email,
      '--role',
      role,
    ]);
    if (exitCode !== 0) throw new Error(`id-token.mjs failed for ${email}: ${output}`);
    return (JSON.parse(output) as { idToken: string }).idToken;
  }

  /** Whether `from` can open a TCP connection to host:port (a name or an address) within 3 s. */
  async canConnect(from: ServiceName, host: string, port: number): Promise<boolean> {
    const { exitCode } = await this.exec(from, ['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`]);
    return exitCode === 0;
  }

  private async inspect(service: ServiceName) {
    return this.client.container.inspect(this.client.container.getById(this.container(service).getId()));
  }

  /** The service's addresses on every network it joined, read now (they change on restart). */
  async addressesOf(service: ServiceName): Promise<Record<string, string>> {
    const { NetworkSettings } = await this.inspect(service);
    return Object.fromEntries(
      Object.entries(NetworkSettings.Networks).map(([network, settings]) => [
        network.replace(`${this.projectName}_`, ''),
        settings.IPAddress,
      ]),
    );
  }

  /** Host ports the service publishes, as "hostIp:hostPort" per container port. */
  async publishedPorts(service: ServiceName): Promise<string[]> {
    const { NetworkSettings } = await this.inspect(service);
    // Docker answers null, not [], for a port the container exposes but does not publish.
    const ports = NetworkSettings.Ports as Record<string, { HostIp: string; HostPort: string }[] | null>;
    return Object.entries(ports).flatMap(([containerPort, bindings]) =>
      (bindings ?? []).map((binding) => `${binding.HostIp}:${binding.HostPort}->${containerPort}`),
    );
  }

  async networkIsInternal(
    network: 'public' | 'app' | 'private' | 'monitoring' | 'metrics' | 'edge-metrics' | 'ops' | 'assets',
  ): Promise<boolean> {
    const info = await this.client.network.getById(`${this.projectName}_${network}`).inspect();
    return info.Internal;
  }

  async stopService(service: ServiceName): Promise<void> {
    await this.client.container.stop(this.client.container.getById(this.container(service).getId()), { timeout: 10 });
  }

  async startService(service: ServiceName): Promise<void> {
    const container = this.client.container.getById(this.container(service).getId());
    await this.client.container.start(container);
    for (let attempt = 0; attempt < 120; attempt += 1) {
      const { State } = await this.client.container.inspect(container);
      if (State.Health?.Status === 'healthy') return;
      await sleep(1000);
    }
    throw new Error(`${service} did not become healthy within 120 s of its restart`);
  }

  /** The container's security settings as Docker applies them. */
  async securityOf(
    service: ServiceName,
  ): Promise<{ user: string; capDrop: string[]; capAdd: string[]; securityOpt: string[]; readOnlyRoot: boolean }> {
    const { Config, HostConfig } = await this.inspect(service);
    const host = HostConfig as {
      CapDrop?: string[] | null;
      CapAdd?: string[] | null;
      SecurityOpt?: string[] | null;
      ReadonlyRootfs?: boolean;
    };
    return {
      user: Config.User,
      capDrop: host.CapDrop ?? [],
      capAdd: host.CapAdd ?? [],
      securityOpt: host.SecurityOpt ?? [],
      readOnlyRoot: host.ReadonlyRootfs ?? false,
    };
  }

  /** The services that are not running and healthy, with the tail of their logs. */
  async unhealthyServiceLogs(): Promise<string[]> {
    const reports: string[] = [];
    for (const service of services) {
      const { State } = await this.inspect(service);
      const status = `${State.Status}/${State.Health?.Status ?? 'no healthcheck'}`;
      if (status === 'running/healthy') continue;
      const stream = await this.client.container.logs(this.client.container.getById(this.container(service).getId()), {
        follow: false,
        tail: 60,
        stdout: true,
        stderr: true,
      });
      const chunks: string[] = [];
      for await (const chunk of stream) chunks.push(String(chunk));
      reports.push(`── ${service} (${status}) ──\n${chunks.join('')}`);
    }
    return reports;
  }

  /** A tap into the monitoring network (IMAP of the mail server, the SMS outbox, Alertmanager). */
  async monitoringTap(): Promise<NetworkTap> {
    this.tap ??= await NetworkTap.start(`${this.projectName}_monitoring`, [
      { host: 'mail', port: 143 },
      { host: 'sms-notifier', port: 9095 },
      { host: 'alertmanager', port: 9093 },
      { host: 'prometheus', port: 9090 },
      { host: 'deadman', port: 9096 },
    ]);
    return this.tap;
  }

  async down(): Promise<void> {
    try {
      await this.tap?.stop();
    } finally {
      if (!this.shared) await this.environment.down({ removeVolumes: true, timeout: 10_000 });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}
