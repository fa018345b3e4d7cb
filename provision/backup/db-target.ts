import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bastion, HostConnection } from '../connectors/ssh.js';

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Where the database runs, as the backup CLI needs it: run db-backup (as postgres, beside the
 * cluster), stop and start PostgreSQL, and run db-backup while it is stopped. One interface for
 * the replica's db container and an inventory's db host, so the CLI has one code path.
 */
export interface DbTarget {
  readonly name: string;
  /** db-backup's arguments; stderr streams to `progress` as it comes. */
  run(args: readonly string[], progress?: (chunk: string) => void): Promise<Result>;
  stop(): Promise<void>;
  /** Runs db-backup with PostgreSQL stopped (the in-place restore). */
  runStopped(args: readonly string[], progress?: (chunk: string) => void): Promise<Result>;
  /** Starts PostgreSQL and waits until it answers; throws (with why) when it does not. */
  startAndWait(timeoutMs: number): Promise<void>;
  close(): void;
}

function spawnCollect(
  argv: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv },
  progress?: (chunk: string) => void,
): Promise<Result> {
  const [program = '', ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err.push(chunk);
      progress?.(chunk.toString('utf8'));
    });
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code: code ?? 1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}

/** The replica's db service, through `docker compose` in the repo (its .env, its project name). */
export class ReplicaDb implements DbTarget {
  readonly name = 'replica db';

  constructor(
    private readonly cwd: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private compose(args: readonly string[], progress?: (chunk: string) => void): Promise<Result> {
    return spawnCollect(['docker', 'compose', ...args], { cwd: this.cwd, env: this.env }, progress);
  }

  run(args: readonly string[], progress?: (chunk: string) => void): Promise<Result> {
    return this.compose(['exec', '-T', 'db', 'db-backup', ...args], progress);
  }

  async stop(): Promise<void> {
    const result = await this.compose(['stop', 'db']);
    if (result.code !== 0) throw new Error(`${this.name}: docker compose stop db failed: ${result.stderr.trim()}`);
  }

  runStopped(args: readonly string[], progress?: (chunk: string) => void): Promise<Result> {
    // The service's own container definition (volumes, environment) for one command, no scheduler.
    return this.compose(
      ['run', '--rm', '--no-deps', '-T', '-e', 'BACKUP_SCHEDULE=off', 'db', 'db-backup', ...args],
      progress,
    );
  }

  async startAndWait(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const result = await this.compose([
      'up',
      '--detach',
      '--no-deps',
      '--no-build',
      '--wait',
      '--wait-timeout',
      String(Math.ceil(timeoutMs / 1000)),
      'db',
    ]);
    // Healthy (answering) comes before the end of recovery: wait until it has been promoted.
    while (result.code === 0 && Date.now() < deadline) {
      const state = await this.compose([
        'exec',
        '-T',
        'db',
        'psql',
        '--no-psqlrc',
        '-XAtq',
        '-d',
        'postgres',
        '-c',
        'SELECT pg_is_in_recovery()',
      ]);
      if (state.code === 0 && state.stdout.trim() === 'f') return;
      await sleep(1000);
    }
    const logs = await this.compose(['logs', '--no-color', '--tail=30', 'db']);
    throw new Error(
      `${this.name}: PostgreSQL did not become healthy and finish recovery after the restore: ${result.stderr.trim()}\n${logs.stdout}`,
    );
  }

  close(): void {}
}

/** An inventory's db host, reached through the bastion with the provisioning connector. */
export class HostDb implements DbTarget {
  readonly name: string;

  constructor(
    private readonly bastion: Bastion,
    private readonly host: HostConnection,
  ) {
    this.name = host.endpoint.name;
  }

  async run(args: readonly string[], progress?: (chunk: string) => void): Promise<Result> {
    const result = await this.host.run(['runuser', '-u', 'postgres', '--', '/usr/local/bin/db-backup', ...args], {
      check: false,
    });
    if (result.stderr) progress?.(result.stderr);
    return { code: result.code ?? 1, stdout: result.stdout, stderr: result.stderr };
  }

  async stop(): Promise<void> {
    // The timers too: a scheduled backup must not start against a stopped cluster.
    await this.host.run([
      'systemctl',
      'stop',
      'refereezy-backup-full.timer',
      'refereezy-backup-diff.timer',
      'refereezy-backup-verify.timer',
      'postgresql.service',
    ]);
  }

  runStopped(args: readonly string[], progress?: (chunk: string) => void): Promise<Result> {
    return this.run(args, progress);
  }

  async startAndWait(timeoutMs: number): Promise<void> {
    await this.host.run(['systemctl', 'start', 'postgresql.service']);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ready = await this.host.run(
        [
          'runuser',
          '-u',
          'postgres',
          '--',
          'psql',
          '--no-psqlrc',
          '-XAtq',
          '-d',
          'postgres',
          '-c',
          'SELECT pg_is_in_recovery()',
        ],
        { check: false },
      );
      if (ready.code === 0 && ready.stdout.trim() === 'f') {
        await this.host.run([
          'systemctl',
          'start',
          'refereezy-backup-full.timer',
          'refereezy-backup-diff.timer',
          'refereezy-backup-verify.timer',
        ]);
        return;
      }
      await sleep(2000);
    }
    const status = await this.host.run(['journalctl', '-u', 'postgresql.service', '-n', '30', '--no-pager'], {
      check: false,
    });
    throw new Error(`${this.name}: PostgreSQL did not finish recovery within ${timeoutMs / 1000} s:\n${status.stdout}`);
  }

  close(): void {
    this.host.close();
    this.bastion.close();
  }
}
