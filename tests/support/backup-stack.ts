import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { buildCaBundle } from './build-ca.js';
import { repoRoot } from './paths.js';

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The part of the replica backups need: db and s3 (and node-exporter, which serves the backup
 * metrics to Prometheus), from docker-compose.yml under a project name of their own, with fresh
 * secrets. Commands go through `docker compose`, as the backup CLI's do; down removes volumes.
 */
export class BackupStack implements AsyncDisposable {
  private constructor(
    readonly projectName: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  static secrets(projectName: string): NodeJS.ProcessEnv {
    return {
      ...process.env,
      COMPOSE_PROJECT_NAME: projectName,
      NODE_EXTRA_CA_CERTS: buildCaBundle(),
      DB_PASSWORD: randomBytes(18).toString('base64url'),
      MONITOR_DB_PASSWORD: randomBytes(18).toString('base64url'),
      // Needed by the compose file's interpolation only (services not started here).
      MAIL_CATCHALL_PASSWORD: 'unused-by-these-services',
      BASTION_AUTHORIZED_KEYS: 'unused-by-these-services',
      BACKUP_CIPHER_PASS: randomBytes(24).toString('base64url'),
      S3_ACCESS_KEY: randomBytes(10).toString('hex'),
      S3_SECRET_KEY: randomBytes(20).toString('base64url'),
    };
  }

  static async start(
    services: string[] = ['db', 'node-exporter'],
    extraEnv: NodeJS.ProcessEnv = {},
    waitTimeoutSeconds = 180,
  ): Promise<BackupStack> {
    const projectName = `refereezy-backup-${randomBytes(4).toString('hex')}`;
    const stack = new BackupStack(projectName, { ...BackupStack.secrets(projectName), ...extraEnv });
    try {
      await stack.compose(['build', '--quiet', 's3', ...services]);
      await stack.compose(['up', '--detach', '--wait', '--wait-timeout', String(waitTimeoutSeconds), ...services]);
    } catch (error) {
      const logs = await stack.compose(['logs', '--no-color', '--tail=60']).catch(() => ({ stdout: '' }));
      await stack.down();
      throw new Error(`the backup stack did not start: ${(error as Error).message}\n${logs.stdout}`);
    }
    return stack;
  }

  async compose(args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('docker', ['compose', ...args], { cwd: repoRoot, env: this.env, maxBuffer: 64 * 1024 * 1024 });
  }

  /** A command in a service's container (as its image's user unless told). */
  async exec(service: string, argv: string[], { user }: { user?: string } = {}): Promise<string> {
    const { stdout } = await this.compose(['exec', '-T', ...(user ? ['-u', user] : []), service, ...argv]);
    return stdout;
  }

  /** SQL as postgres on the primary (or the scratch instance), in the app database. */
  async sql(query: string, { scratch = false } = {}): Promise<string> {
    const where = scratch ? ['-h', '/var/lib/postgresql/scratch/socket', '-p', '5433'] : [];
    return (
      await this.exec('db', [
        'psql',
        '--no-psqlrc',
        '-X',
        '-q',
        '-A',
        '-t',
        '-v',
        'ON_ERROR_STOP=1',
        ...where,
        '-d',
        'refereezy',
        '-c',
        query,
      ])
    ).trim();
  }

  /** The backup CLI (npm run backup -- replica …), run as an operator runs it, in this stack. */
  cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'provision/backup/cli.ts', 'replica', ...args], {
        cwd: repoRoot,
        env: { ...this.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  }

  async logs(): Promise<string> {
    return (
      await this.compose(['logs', '--no-color', '--tail=80']).catch((error: unknown) => ({ stdout: String(error) }))
    ).stdout;
  }

  async down(): Promise<void> {
    await this.compose(['down', '--volumes', '--remove-orphans', '--timeout', '10']).catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}
