// Where the DR commands act: the replica (docker compose with the HA overlay, in this repo) or an
// inventory's hosts. One interface, so status, switchover, failover and the drills have one code
// path; every command names the node it ran on when it fails.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { patroniRestUser } from '../roles/patroni/index.js';
import type { EtcdHealth } from './cluster.js';

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** A Patroni cluster as configured: its scope, its nodes (name → zone), its etcd members. */
export interface ClusterSpec {
  scope: string;
  region: string;
  nodes: { name: string; zone: string }[];
  etcd: string[];
}

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface DrTarget {
  readonly name: string;
  /** A production inventory: drills refuse to run against it without --production. */
  readonly production: boolean;
  readonly primaryRegion: ClusterSpec;
  readonly drRegion: ClusterSpec | undefined;
  /** A request to a node's Patroni REST API (port 8008); status 0 when nothing answers. */
  rest(node: string, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<HttpAnswer>;
  etcdHealth(members: readonly string[]): Promise<EtcdHealth[]>;
  /** SQL as postgres on a node, in the application's database; rows as lines. */
  sql(node: string, query: string): Promise<string>;
  /** Ends a node at once, as a lost zone does (SIGKILL: no clean shutdown). */
  kill(nodes: readonly string[]): Promise<void>;
  /** Starts nodes again (their data as it was). */
  start(nodes: readonly string[]): Promise<void>;
  /** An admin's ID token for the load generator. */
  adminToken(): Promise<string>;
  /** Runs the load program (on stdin) beside the API; each stdout line goes to onLine as it comes. */
  runLoad(program: string, onLine: (line: string) => void): Promise<Result>;
  /** Takes a node's server out of the API-side proxy (fencing), or puts it back. */
  proxyState(node: string, state: 'maint' | 'ready'): Promise<void>;
  close(): void;
}

export function spawnCollect(
  argv: readonly string[],
  options: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    stdin?: string;
    onLine?: (line: string) => void;
    timeoutMs?: number;
  },
): Promise<Result> {
  const [program = '', ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let partial = '';
    const timer =
      options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      out.push(chunk);
      if (!options.onLine) return;
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) options.onLine(line);
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      if (partial && options.onLine) options.onLine(partial);
      resolve({
        code: code ?? 1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** Splits curl's `-w '\n%{http_code}'` output into the body and the status (0: no answer). */
export function parseCurl(result: Result): HttpAnswer {
  const lines = result.stdout.split('\n');
  const status = Number(lines.pop() ?? '0');
  return { status: Number.isFinite(status) ? status : 0, body: lines.join('\n') };
}

/** The replica's clusters, as docker-compose.ha.yml defines them. */
export const replicaPrimaryRegion: ClusterSpec = {
  scope: 'refereezy',
  region: 'eu-west-1',
  nodes: [
    { name: 'db1', zone: 'eu-west-1a' },
    { name: 'db2', zone: 'eu-west-1b' },
  ],
  etcd: ['etcd1', 'etcd2', 'etcd3'],
};
export const replicaDrRegion: ClusterSpec = {
  scope: 'refereezy-dr',
  region: 'eu-central-1',
  nodes: [{ name: 'db-dr1', zone: 'eu-central-1a' }],
  etcd: ['etcd-dr1'],
};

/**
 * The replica: `docker compose` with the HA overlay (COMPOSE_FILE, unless the caller set it) and
 * the dr profile, so the DR region's services can be reached when they run. Requests to Patroni
 * and etcd go from inside the `db` container (the API-side HAProxy, on the private network, where
 * the API would send them), so nothing needs a published port.
 */
export class ReplicaTarget implements DrTarget {
  readonly name = 'replica';
  readonly production = false;
  readonly primaryRegion = replicaPrimaryRegion;
  readonly drRegion = replicaDrRegion;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    private readonly cwd: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.env = { ...env, COMPOSE_FILE: env.COMPOSE_FILE || 'docker-compose.yml:docker-compose.ha.yml' };
  }

  compose(
    args: readonly string[],
    options: { stdin?: string; onLine?: (line: string) => void; timeoutMs?: number } = {},
  ): Promise<Result> {
    return spawnCollect(['docker', 'compose', '--profile', 'dr', ...args], {
      cwd: this.cwd,
      env: this.env,
      ...options,
    });
  }

  private async must(args: readonly string[], what: string, options: { stdin?: string } = {}): Promise<string> {
    const result = await this.compose(args, options);
    if (result.code !== 0)
      throw new Error(
        `replica: ${what} failed (docker compose ${args.join(' ')}, exit ${result.code}): ${result.stderr.trim().split('\n').slice(-5).join('\n')}`,
      );
    return result.stdout;
  }

  /**
   * Patroni's REST API password (user patroniRestUser): the environment's PATRONI_RESTAPI_PASSWORD,
   * else the replica's .env, where `npm run stack` generated it.
   */
  private restPassword(): string {
    const fromEnv = this.env.PATRONI_RESTAPI_PASSWORD;
    if (fromEnv) return fromEnv;
    const envFile = join(this.cwd, '.env');
    const line = existsSync(envFile)
      ? readFileSync(envFile, 'utf8')
          .split('\n')
          .findLast((entry) => entry.startsWith('PATRONI_RESTAPI_PASSWORD='))
      : undefined;
    const value = line?.slice('PATRONI_RESTAPI_PASSWORD='.length).trim();
    if (!value)
      throw new Error(
        `replica: PATRONI_RESTAPI_PASSWORD is set neither in the environment nor in ${envFile} (npm run stack generates it): Patroni refuses switchover, failover and config changes without it`,
      );
    return value;
  }

  async rest(node: string, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<HttpAnswer> {
    const curl = [
      'curl',
      '-s',
      '-m',
      '10',
      '-o',
      '-',
      '-w',
      '\n%{http_code}',
      '-X',
      method,
      `http://${node}:8008${path}`,
    ];
    if (body !== undefined) curl.push('-H', 'content-type: application/json', '--data-binary', '@-');
    const payload = body === undefined ? '' : JSON.stringify(body);
    // GETs are open (the proxy's /primary, Prometheus); anything else needs the REST API's basic auth,
    // sent on stdin's first line, never in an argument (curl reads the body from the rest).
    const args =
      method === 'GET'
        ? ['exec', '-T', 'db', ...curl]
        : ['exec', '-T', 'db', 'sh', '-c', 'IFS= read -r auth && exec "$@" -u "$auth"', 'sh', ...curl];
    const stdin = method === 'GET' ? payload : `${patroniRestUser}:${this.restPassword()}\n${payload}`;
    return parseCurl(await this.compose(args, { stdin, timeoutMs: 30_000 }));
  }

  async etcdHealth(members: readonly string[]): Promise<EtcdHealth[]> {
    return Promise.all(
      members.map(async (member) => {
        const answer = parseCurl(
          await this.compose(
            [
              'exec',
              '-T',
              'db',
              'curl',
              '-s',
              '-m',
              '3',
              '-o',
              '-',
              '-w',
              '\n%{http_code}',
              `http://${member}:2379/health`,
            ],
            { timeoutMs: 20_000 },
          ),
        );
        const healthy = answer.status === 200 && /"health":\s*"true"/.test(answer.body);
        return {
          member,
          healthy,
          detail: answer.status === 0 ? 'no answer' : answer.body.trim() || `HTTP ${answer.status}`,
        };
      }),
    );
  }

  async sql(node: string, query: string): Promise<string> {
    return (
      await this.must(
        [
          'exec',
          '-T',
          node,
          'psql',
          '--no-psqlrc',
          '-X',
          '-q',
          '-A',
          '-t',
          '-v',
          'ON_ERROR_STOP=1',
          '-d',
          'refereezy',
          '-f',
          '-',
        ],
        `SQL on ${node}`,
        { stdin: query },
      )
    ).trim();
  }

  async kill(nodes: readonly string[]): Promise<void> {
    await this.must(['kill', '--signal', 'SIGKILL', ...nodes], `killing ${nodes.join(', ')}`);
  }

  async start(nodes: readonly string[]): Promise<void> {
    await this.must(['start', ...nodes], `starting ${nodes.join(', ')}`);
  }

  async adminToken(): Promise<string> {
    const out = await this.must(
      ['exec', '-T', 'firebase', 'node', 'id-token.mjs', '--email', 'dr-drill-admin@refereezy.test', '--role', 'admin'],
      'an admin token from the Auth emulator',
    );
    const token = (JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { idToken?: string }).idToken;
    if (!token) throw new Error(`replica: the Auth emulator gave no ID token: ${out.slice(0, 200)}`);
    return token;
  }

  runLoad(program: string, onLine: (line: string) => void): Promise<Result> {
    return this.compose(['exec', '-T', 'api', 'node', '--input-type=module', '-'], {
      stdin: program,
      onLine,
      timeoutMs: 600_000,
    });
  }

  async proxyState(node: string, state: 'maint' | 'ready'): Promise<void> {
    // HAProxy's runtime API (the admin socket in the db-proxy image): no reload, effective at once.
    await this.must(
      ['exec', '-T', 'db', 'sh', '-c', 'socat stdio unix-connect:/tmp/haproxy.sock'],
      `setting ${node} to ${state} on the db proxy`,
      { stdin: `set server postgres/${node} state ${state}\n` },
    );
  }

  close(): void {}
}
