import { Readable, type Duplex } from 'node:stream';
import { NodeSSH, type Config } from 'node-ssh';
import { AuthenticationError, CommandError, HostKeyError, NetworkError, SudoError, tail } from '../core/errors.js';
import type { SshAuth } from './identity.js';
import { fingerprint, KnownHosts, knownHostsName } from './known-hosts.js';
import type { Connector, RunOptions, RunResult } from '../core/connector.js';
import { probeBatches, probeScript } from '../core/probe-script.js';
import { commandLine } from '../core/shell.js';

export interface SshOptions {
  /** The key (or agent) to authenticate with, from resolveIdentity(): key authentication only, never a password or keyboard-interactive. */
  auth: SshAuth;
  knownHostsFile: string;
  /** Pin the key of a host not yet in known_hosts (reported), instead of refusing it. */
  trustNewHostKeys?: boolean;
  /** Connection and handshake deadline. */
  timeoutMs?: number;
  /** Told about every key pinned on first use, so it is never silent. */
  onPinned?: (name: string, fingerprint: string) => void;
}

export interface Endpoint {
  /** The name errors and progress use (the inventory's). */
  name: string;
  address: string;
  port: number;
  user: string;
}

export type { RunOptions, RunResult } from '../core/connector.js';

const sudoRefusal =
  /^sudo: (a password is required|.* is not in the sudoers file|.* not allowed to execute|a terminal is required)/m;

/** ssh2's errors (node-ssh passes them through), as the typed errors of this module. */
function classify(
  endpoint: Endpoint,
  error: Error & { level?: string },
  hostKeyProblem: string | undefined,
  identity: string,
): Error {
  if (hostKeyProblem) return new HostKeyError(endpoint.name, hostKeyProblem, { cause: error });
  if (error.level === 'client-authentication') {
    return new AuthenticationError(
      endpoint.name,
      `${endpoint.user}@${endpoint.address}:${endpoint.port} refused ${identity} (${error.message})`,
      { cause: error },
    );
  }
  if (error.level === 'client-timeout') {
    return new NetworkError(
      endpoint.name,
      `${endpoint.address}:${endpoint.port} did not complete the SSH handshake in time`,
      { cause: error },
    );
  }
  return new NetworkError(endpoint.name, `${endpoint.address}:${endpoint.port} unreachable: ${error.message}`, {
    cause: error,
  });
}

/** Host key algorithms ssh2 offers, best first (no SHA-1 ssh-rsa signatures). */
const hostKeyAlgorithms = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
] as const;
type HostKeyAlgorithm = (typeof hostKeyAlgorithms)[number];

/**
 * The pinned key types first, as OpenSSH orders HostKeyAlgorithms by known_hosts: a genuine host
 * with several keys then presents the pinned one, and any other key is a changed key.
 */
export function preferredHostKeyAlgorithms(pinnedTypes: readonly string[]): HostKeyAlgorithm[] {
  const preferred = pinnedTypes.flatMap((type): HostKeyAlgorithm[] =>
    type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256'] : hostKeyAlgorithms.filter((algorithm) => algorithm === type),
  );
  return [...new Set([...preferred, ...hostKeyAlgorithms])];
}

async function connect(
  endpoint: Endpoint,
  options: SshOptions,
  knownHosts: KnownHosts,
  via: { sock: Duplex } | { host: string; port: number },
): Promise<NodeSSH> {
  const name = knownHostsName(endpoint.address, endpoint.port);
  let hostKeyProblem: string | undefined;
  const config: Config = {
    ...via,
    username: endpoint.user,
    ...(options.auth.privateKey === undefined ? {} : { privateKey: options.auth.privateKey }),
    ...(options.auth.passphrase === undefined ? {} : { passphrase: options.auth.passphrase }),
    ...(options.auth.agent === undefined ? {} : { agent: options.auth.agent }),
    tryKeyboard: false,
    algorithms: { serverHostKey: preferredHostKeyAlgorithms(knownHosts.pinnedTypes(name)) },
    readyTimeout: options.timeoutMs ?? 15_000,
    keepaliveInterval: 15_000,
    hostVerifier: (key: Buffer) => {
      const verdict = knownHosts.verdict(name, key);
      if (verdict === 'known') return true;
      if (verdict === 'unknown' && options.trustNewHostKeys) {
        knownHosts.pin(name, key);
        options.onPinned?.(name, fingerprint(key));
        return true;
      }
      hostKeyProblem =
        verdict === 'changed'
          ? `the host key of ${name} (${fingerprint(key)}) differs from the one pinned in ${knownHosts.file}: refusing to connect`
          : `the host key of ${name} (${fingerprint(key)}) is not in ${knownHosts.file}; check it, then pass --trust-new-host-keys to pin it`;
      return false;
    },
  };
  const ssh = new NodeSSH();
  try {
    await ssh.connect(config);
  } catch (error) {
    ssh.dispose();
    throw classify(endpoint, error as Error, hostKeyProblem, options.auth.description);
  }
  // A connection that drops later fails the command in flight; the event itself must not crash the run.
  ssh.connection?.on('error', () => undefined);
  return ssh;
}

/** One host's SSH session, reached through the bastion. Commands are argument vectors, never shell strings. */
export class HostConnection implements Connector {
  constructor(
    readonly endpoint: Endpoint,
    private readonly ssh: NodeSSH,
  ) {}

  async run(argv: readonly string[], { stdin, sudo = true, check = true }: RunOptions = {}): Promise<RunResult> {
    const vector = sudo && this.endpoint.user !== 'root' ? ['sudo', '-n', '--', ...argv] : [...argv];
    const host = this.endpoint.name;
    // Raw chunks, decoded once at the end: node-ssh decodes (and trims) per chunk, which would split
    // a multi-byte character and change the content facts compare.
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let code: number | null;
    try {
      ({ code } = await this.ssh.execCommand(commandLine(vector), {
        noTrim: true,
        onStdout: (chunk) => stdout.push(chunk),
        onStderr: (chunk) => stderr.push(chunk),
        ...(stdin === undefined ? {} : { stdin: typeof stdin === 'string' ? stdin : Readable.from([stdin]) }),
      }));
    } catch (error) {
      throw new NetworkError(host, `cannot run ${argv[0] ?? ''}: ${(error as Error).message}`, { cause: error });
    }
    const result = {
      code,
      stdout: Buffer.concat(stdout).toString('utf8'),
      stderr: Buffer.concat(stderr).toString('utf8'),
    };
    if (sudo && code === 1 && sudoRefusal.test(result.stderr))
      throw new SudoError(host, `sudo refused ${argv[0] ?? ''} for ${this.endpoint.user}: ${tail(result.stderr, 1)}`);
    if (check && code !== 0) throw new CommandError(host, commandLine(argv), code, tail(result.stderr));
    return result;
  }

  /** The probes as one script (or a few, when they are many): one round trip, one sudo. */
  async probe(commands: readonly (readonly string[])[]): Promise<RunResult[]> {
    const results: RunResult[] = [];
    for (const batch of probeBatches(commands)) {
      const script = probeScript(batch);
      const answer = await this.run(script.argv, { check: false });
      try {
        results.push(...script.parse(answer.stdout));
      } catch (error) {
        throw new NetworkError(
          this.endpoint.name,
          `probing ${batch.length} facts: ${(error as Error).message} (exit ${answer.code ?? 'by a signal'}${answer.stderr ? `: ${tail(answer.stderr, 2)}` : ''})`,
          { cause: error },
        );
      }
    }
    return results;
  }

  close(): void {
    this.ssh.dispose();
  }
}

/**
 * The one SSH connection to the bastion; every host is a channel forwarded through it (what
 * `ssh -J` does), authenticated and host-key-checked end to end by this process.
 */
export class Bastion {
  private constructor(
    private readonly ssh: NodeSSH,
    private readonly options: SshOptions,
    private readonly knownHosts: KnownHosts,
  ) {}

  static async connect(endpoint: Endpoint, options: SshOptions): Promise<Bastion> {
    const knownHosts = new KnownHosts(options.knownHostsFile);
    return new Bastion(
      await connect(endpoint, options, knownHosts, { host: endpoint.address, port: endpoint.port }),
      options,
      knownHosts,
    );
  }

  private async forward(endpoint: Endpoint): Promise<Duplex> {
    const timeoutMs = this.options.timeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new NetworkError(
              endpoint.name,
              `the bastion did not reach ${endpoint.address}:${endpoint.port} in ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([
        this.ssh.forwardOut('127.0.0.1', 0, endpoint.address, endpoint.port).catch((error: unknown) => {
          throw new NetworkError(
            endpoint.name,
            `the bastion cannot reach ${endpoint.address}:${endpoint.port}: ${(error as Error).message}`,
            { cause: error },
          );
        }),
        deadline,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async host(endpoint: Endpoint): Promise<HostConnection> {
    const channel = await this.forward(endpoint);
    try {
      return new HostConnection(endpoint, await connect(endpoint, this.options, this.knownHosts, { sock: channel }));
    } catch (error) {
      channel.destroy();
      throw error;
    }
  }

  close(): void {
    this.ssh.dispose();
  }
}
