import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import ssh2, { type Client, type ConnectConfig } from 'ssh2';
import { AuthenticationError, CommandError, HostKeyError, NetworkError, SudoError, tail } from './errors.js';
import { fingerprint, KnownHosts, knownHostsName } from './known-hosts.js';
import { commandLine } from './shell.js';

export interface SshOptions {
  /** Private key file: key authentication only, never a password or keyboard-interactive. */
  identityFile: string;
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

export interface RunOptions {
  stdin?: string | Buffer;
  /** Through `sudo -n` (the default): as root, never prompting for a password. */
  sudo?: boolean;
  /** Throw a CommandError on a non-zero exit (the default); probes pass false. */
  check?: boolean;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const sudoRefusal = /^sudo: (a password is required|.* is not in the sudoers file|.* not allowed to execute|a terminal is required)/m;

/** ssh2's errors, as the typed errors of this module. */
function classify(endpoint: Endpoint, error: Error & { level?: string }, hostKeyProblem: string | undefined): Error {
  if (hostKeyProblem) return new HostKeyError(endpoint.name, hostKeyProblem, { cause: error });
  if (error.level === 'client-authentication') {
    return new AuthenticationError(endpoint.name, `${endpoint.user}@${endpoint.address}:${endpoint.port} refused the key (${error.message})`, { cause: error });
  }
  if (error.level === 'client-timeout') {
    return new NetworkError(endpoint.name, `${endpoint.address}:${endpoint.port} did not complete the SSH handshake in time`, { cause: error });
  }
  return new NetworkError(endpoint.name, `${endpoint.address}:${endpoint.port} unreachable: ${error.message}`, { cause: error });
}

function connect(endpoint: Endpoint, options: SshOptions, knownHosts: KnownHosts, via: { sock: Duplex } | { host: string; port: number }): Promise<Client> {
  const name = knownHostsName(endpoint.address, endpoint.port);
  let hostKeyProblem: string | undefined;
  const config: ConnectConfig = {
    ...via,
    username: endpoint.user,
    privateKey: readFileSync(options.identityFile),
    tryKeyboard: false,
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
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.once('ready', () => {
      client.removeAllListeners('error');
      // A connection that drops later fails the command in flight; the event itself is not fatal.
      client.on('error', () => undefined);
      resolve(client);
    });
    client.once('error', (error) => reject(classify(endpoint, error, hostKeyProblem)));
    client.connect(config);
  });
}

/** One host's SSH session, reached through the bastion. Commands are argument vectors, never shell strings. */
export class HostConnection {
  constructor(
    readonly endpoint: Endpoint,
    private readonly client: Client,
  ) {}

  run(argv: readonly string[], { stdin, sudo = true, check = true }: RunOptions = {}): Promise<RunResult> {
    const vector = sudo && this.endpoint.user !== 'root' ? ['sudo', '-n', '--', ...argv] : [...argv];
    const line = commandLine(vector);
    const host = this.endpoint.name;
    return new Promise((resolve, reject) => {
      this.client.exec(line, (error, stream) => {
        if (error) {
          reject(new NetworkError(host, `cannot open a session: ${error.message}`, { cause: error }));
          return;
        }
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        stream.on('data', (data: Buffer) => stdout.push(data));
        stream.stderr.on('data', (data: Buffer) => stderr.push(data));
        stream.on('close', (code: number | null) => {
          const result = { code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
          if (sudo && code === 1 && sudoRefusal.test(result.stderr)) {
            reject(new SudoError(host, `sudo refused ${argv[0] ?? ''} for ${this.endpoint.user}: ${tail(result.stderr, 1)}`));
          } else if (check && code !== 0) {
            reject(new CommandError(host, commandLine(argv), code, tail(result.stderr)));
          } else {
            resolve(result);
          }
        });
        stream.end(stdin);
      });
    });
  }

  close(): void {
    this.client.end();
  }
}

/**
 * The one SSH connection to the bastion; every host is a channel forwarded through it (what
 * `ssh -J` does), authenticated and host-key-checked end to end by this process.
 */
export class Bastion {
  private constructor(
    private readonly client: Client,
    private readonly options: SshOptions,
    private readonly knownHosts: KnownHosts,
  ) {}

  static async connect(endpoint: Endpoint, options: SshOptions): Promise<Bastion> {
    const knownHosts = new KnownHosts(options.knownHostsFile);
    const client = await connect(endpoint, options, knownHosts, { host: endpoint.address, port: endpoint.port });
    return new Bastion(client, options, knownHosts);
  }

  private forward(endpoint: Endpoint): Promise<Duplex> {
    const timeoutMs = this.options.timeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new NetworkError(endpoint.name, `the bastion did not reach ${endpoint.address}:${endpoint.port} in ${timeoutMs} ms`)), timeoutMs);
      this.client.forwardOut('127.0.0.1', 0, endpoint.address, endpoint.port, (error, channel) => {
        clearTimeout(timer);
        if (error) reject(new NetworkError(endpoint.name, `the bastion cannot reach ${endpoint.address}:${endpoint.port}: ${error.message}`, { cause: error }));
        else resolve(channel);
      });
    });
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
    this.client.end();
  }
}
