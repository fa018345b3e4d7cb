import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { BackupStack, type CliResult } from './backup-stack.js';
import { repoRoot } from './paths.js';

/** The HA overlay's database and what a drill writes through: the API and the Auth emulator. */
export const haServices = ['etcd1', 'etcd2', 'etcd3', 'db1', 'db2', 'db', 'firebase', 'api'];

/**
 * The replica with the Patroni pair (docker-compose.yml + docker-compose.ha.yml) under a project of
 * its own: the backup stack's fresh secrets plus Patroni's, started with `docker compose up --wait`.
 */
export async function startHaStack(): Promise<BackupStack> {
  return BackupStack.start(
    haServices,
    {
      COMPOSE_FILE: 'docker-compose.yml:docker-compose.ha.yml',
      PATRONI_REPLICATION_PASSWORD: randomBytes(18).toString('base64url'),
      PATRONI_REWIND_PASSWORD: randomBytes(18).toString('base64url'),
    },
    360,
  );
}

/** `npm run dr -- replica …` as an operator runs it, against this stack. */
export function drCli(stack: BackupStack, args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'provision/dr/cli.ts', 'replica', ...args], {
      cwd: repoRoot,
      env: stack.env,
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
