import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../releases/node-release.js';
import type { MigrationPhaseName, DeployTarget } from './target.js';
import { CommandError, run } from './run.js';
import type { ProbeAnswer, Prober } from './smoke.js';
import { DeployStateSchema, initialState, type Colour, type DeployState, type Pool } from './state.js';

const mapFile = '/var/lib/haproxy/deploy/live.map';
const stateFile = '/var/lib/haproxy/deploy/state.json';
const backendOf = (pool: Pool) => (pool === 'base' ? 'web' : `web_${pool}`);
const servicesOf = (pool: Pool) => (pool === 'base' ? ['web1', 'web2', 'api'] : [`api-${pool}`, `web-${pool}`]);

/**
 * The replica as a deploy target: the colours are services of docker-compose.deploy.yml in the
 * replica's own Compose project; the switch is HAProxy's runtime API in the lb container (reached
 * with `docker exec`, it listens on the container's loopback only) plus the map file on the
 * lb_deploy volume; the state lives beside the map. Images come from the registry by digest when
 * DEPLOY_REGISTRY is set (docs/runbooks/deploy.md), else from the local image store by tag.
 */
export class ReplicaTarget implements DeployTarget {
  readonly environment = 'replica';
  readonly project: string;
  readonly lockFile: string;
  readonly logFile: string;

  constructor(
    private readonly registry: string | undefined = process.env.DEPLOY_REGISTRY,
    project = process.env.COMPOSE_PROJECT_NAME ?? 'refereezy',
  ) {
    this.project = project;
    const dir = path.join(repoRoot, '.local', 'deploy');
    this.lockFile = path.join(dir, `${project}.lock`);
    this.logFile = path.join(dir, `${project}.log`);
  }

  private compose(task: string, args: string[], env: Record<string, string> = {}, timeoutMs?: number): Promise<string> {
    // DEPLOY_COMPOSE_FILES: more overlays the replica was started with (colon-separated), so Compose sees the same project.
    const extra = (process.env.DEPLOY_COMPOSE_FILES ?? '')
      .split(':')
      .filter((file) => file !== '')
      .flatMap((file) => ['-f', file]);
    return run(
      task,
      [
        'docker',
        'compose',
        '-p',
        this.project,
        '-f',
        'docker-compose.yml',
        '-f',
        'docker-compose.deploy.yml',
        ...extra,
        ...args,
      ],
      { cwd: repoRoot, env, ...(timeoutMs ? { timeoutMs } : {}) },
    );
  }

  private async containerOf(service: string): Promise<string> {
    const id = (await this.compose(`find the ${service} container`, ['ps', '-q', service])).trim();
    if (!id)
      throw new CommandError(`find the ${service} container: ${service} is not running in project ${this.project}`);
    return id;
  }

  /** One command on HAProxy's runtime API (127.0.0.1:9999 inside the lb container). */
  async haproxy(command: string): Promise<string> {
    const lb = await this.containerOf('lb');
    const script = 'exec 3<>/dev/tcp/127.0.0.1/9999 && printf "%s\\n" "$1" >&3 && timeout 5 cat <&3';
    return run(`HAProxy runtime API: ${command}`, ['docker', 'exec', lb, 'bash', '-c', script, 'bash', command]);
  }

  async readState(): Promise<DeployState> {
    const lb = await this.containerOf('lb');
    const text = await run('read the deploy state', [
      'docker',
      'exec',
      lb,
      'sh',
      '-c',
      `cat ${stateFile} 2>/dev/null || true`,
    ]);
    return text.trim() === '' ? initialState : DeployStateSchema.parse(JSON.parse(text));
  }

  async writeState(state: DeployState): Promise<void> {
    const lb = await this.containerOf('lb');
    await run(
      'write the deploy state',
      ['docker', 'exec', '-i', lb, 'sh', '-c', `cat >${stateFile}.new && mv -f ${stateFile}.new ${stateFile}`],
      { input: `${JSON.stringify(DeployStateSchema.parse(state), null, 2)}\n` },
    );
  }

  async baseVersion(): Promise<string> {
    const api = await this.containerOf('api');
    const image = (await run('read the base API image', ['docker', 'inspect', '-f', '{{.Config.Image}}', api])).trim();
    return image.split(':').pop() ?? image;
  }

  /** `refereezy/<component>` of the version: in the registry by digest, else the local image by tag (and its id). */
  async resolveImages(version: string): Promise<Record<'api' | 'web', string>> {
    const images = {} as Record<'api' | 'web', string>;
    for (const component of ['api', 'web'] as const) {
      if (this.registry) {
        const tagged = `${this.registry}/refereezy/${component}:${version}`;
        await run(`pull ${tagged}`, ['docker', 'pull', '-q', tagged]);
        const digests = (
          await run(`digest of ${tagged}`, ['docker', 'image', 'inspect', '-f', '{{json .RepoDigests}}', tagged])
        ).trim();
        const digest = (JSON.parse(digests) as string[]).find((ref) =>
          ref.startsWith(`${this.registry}/refereezy/${component}@`),
        );
        if (!digest) throw new CommandError(`digest of ${tagged}: the registry gave no digest (${digests})`);
        images[component] = digest;
      } else {
        const local = `refereezy/${component}:${version}`;
        await run(`find ${local}`, ['docker', 'image', 'inspect', '-f', '{{.Id}}', local]).catch((error: unknown) => {
          throw new CommandError(
            `version ${version}: no image ${local} here (${(error as Error).message}); build it, or set DEPLOY_REGISTRY to pull it`,
          );
        });
        images[component] = local;
      }
    }
    return images;
  }

  private colourEnv(colour: Colour, version: string, images: Record<'api' | 'web', string>): Record<string, string> {
    const c = colour.toUpperCase();
    return {
      [`DEPLOY_API_${c}_IMAGE`]: images.api,
      [`DEPLOY_WEB_${c}_IMAGE`]: images.web,
      [`DEPLOY_${c}_VERSION`]: version,
    };
  }

  async appliedMigrations(): Promise<string[]> {
    const db = await this.containerOf('db');
    const out = await run('read the applied migrations', [
      'docker',
      'exec',
      '-u',
      'postgres',
      db,
      'psql',
      '-X',
      '-At',
      '-d',
      'refereezy',
      '-c',
      'SELECT name FROM pgmigrations ORDER BY id',
    ]);
    return out.split('\n').filter((line) => line !== '');
  }

  async migrationFiles(images: Record<'api' | 'web', string>): Promise<string[]> {
    const out = await run("list the new version's migrations", [
      'docker',
      'run',
      '--rm',
      '--network',
      'none',
      '--entrypoint',
      'ls',
      images.api,
      'migrations',
    ]);
    return out
      .split('\n')
      .filter((line) => line.endsWith('.sql') || line.endsWith('.js'))
      .map((file) => file.replace(/\.(sql|js)$/, ''))
      .sort();
  }

  async migrate(
    colour: Colour,
    version: string,
    images: Record<'api' | 'web', string>,
    phase: MigrationPhaseName,
  ): Promise<string> {
    return this.compose(
      `apply the ${phase} migrations of ${version}`,
      ['run', '--rm', '--no-deps', '-T', `api-${colour}`, 'node', 'dist/migrate-cli.js', '--phase', phase],
      this.colourEnv(colour, version, images),
    );
  }

  async start(colour: Colour, version: string, images: Record<'api' | 'web', string>): Promise<void> {
    await this.compose(
      `start ${version} as ${colour}`,
      [
        'up',
        '-d',
        '--no-deps',
        '--force-recreate',
        '--wait',
        '--wait-timeout',
        '300',
        `api-${colour}`,
        `web-${colour}`,
      ],
      this.colourEnv(colour, version, images),
      360_000,
    );
  }

  prober(colour: Colour): Prober {
    return async (target, method, urlPath, options = {}) => {
      const web = await this.containerOf(`web-${colour}`);
      const url = target === 'web' ? `http://127.0.0.1${urlPath}` : `http://api-${colour}:3000${urlPath}`;
      const argv = [
        'docker',
        'exec',
        '-i',
        web,
        'curl',
        '-sS',
        '--max-time',
        '10',
        '-X',
        method,
        '-o',
        '-',
        '-w',
        '\n%{http_code} %{content_type}',
      ];
      if (options.token) argv.push('-H', `Authorization: Bearer ${options.token}`);
      if (options.body !== undefined) argv.push('-H', 'Content-Type: application/json', '--data-binary', '@-');
      argv.push(url);
      const out = await run(
        `probe ${method} ${url} on ${colour}`,
        argv,
        options.body === undefined ? {} : { input: JSON.stringify(options.body) },
      );
      const cut = out.lastIndexOf('\n');
      const [status = '0', ...type] = out.slice(cut + 1).split(' ');
      return { status: Number(status), contentType: type.join(' '), body: out.slice(0, cut) } satisfies ProbeAnswer;
    };
  }

  async smokeToken(): Promise<string> {
    const firebase = await this.containerOf('firebase');
    const out = await run('get a smoke-test token', [
      'docker',
      'exec',
      firebase,
      'node',
      'id-token.mjs',
      '--email',
      'deploy-smoke@refereezy.local',
      '--role',
      'admin',
    ]);
    return (JSON.parse(out) as { idToken: string }).idToken;
  }

  /** The pool's servers as HAProxy's health checks see them: "UP" when every one is. */
  async health(pool: Pool): Promise<string> {
    const out = await this.haproxy('show stat');
    const backend = backendOf(pool);
    const servers = out
      .split('\n')
      .map((line) => line.split(','))
      .filter((fields) => fields[0] === backend && fields[1] !== 'FRONTEND' && fields[1] !== 'BACKEND')
      .map((fields) => `${fields[1]}:${(fields[17] ?? '?').split(' ')[0]}`);
    if (servers.length === 0) return 'no servers';
    return servers.every((server) => server.endsWith(':UP')) ? 'UP' : servers.join(' ');
  }

  async waitInRotation(pool: Pool, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      last = await this.health(pool);
      if (last === 'UP') return;
      await sleep(250);
    }
    throw new CommandError(`${pool} is not up in HAProxy's health checks after ${timeoutMs / 1000} s: ${last}`);
  }

  async livePool(): Promise<Pool> {
    const out = await this.haproxy(`show map ${mapFile}`);
    const backend = /\blive\s+(\S+)/.exec(out)?.[1] ?? 'web';
    return backend === 'web' ? 'base' : (backend.replace(/^web_/, '') as Colour);
  }

  /** Atomic for the next request (`set map`); the file is rewritten too, so a reload or restart keeps it. */
  async switchTo(pool: Pool): Promise<void> {
    const lb = await this.containerOf('lb');
    await run(`rewrite ${mapFile}`, [
      'docker',
      'exec',
      lb,
      'sh',
      '-c',
      `printf 'live %s\\n' "$1" >${mapFile}.new && mv -f ${mapFile}.new ${mapFile}`,
      'sh',
      backendOf(pool),
    ]);
    const answer = await this.haproxy(`set map ${mapFile} live ${backendOf(pool)}`);
    if (answer.trim() !== '') throw new CommandError(`switch to ${pool}: HAProxy answered "${answer.trim()}"`);
  }

  async stop(pool: Pool): Promise<void> {
    await this.compose(`stop ${pool}`, ['stop', ...servicesOf(pool)]);
  }

  /** Removes the colour containers (the replica's teardown: `docker compose down` of the base file leaves them). */
  async removeColours(): Promise<void> {
    await this.compose('remove the colours', ['rm', '-fsv', 'api-blue', 'web-blue', 'api-green', 'web-green']);
  }
}
