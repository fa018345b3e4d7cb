import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { BackupStack, type CliResult } from './backup-stack.js';
import { repoRoot } from './paths.js';

/**
 * The HA overlay's database, what a drill writes through (the API and the Auth emulator) and the
 * Prometheus that scrapes Patroni and etcd.
 */
export const haServices = ['etcd1', 'etcd2', 'etcd3', 'db1', 'db2', 'db', 'firebase', 'api', 'prometheus'];

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
      PATRONI_RESTAPI_PASSWORD: randomBytes(18).toString('base64url'),
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

/** One series of a Prometheus instant query: its labels and value. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** Prometheus' API asked from inside its container (its port is published nowhere). */
async function prometheusApi(stack: BackupStack, path: string, query?: string): Promise<unknown> {
  const argv = [
    'curl',
    '-fsS',
    '-m',
    '5',
    '--get',
    ...(query === undefined ? [] : ['--data-urlencode', `query=${query}`]),
  ];
  const answer = JSON.parse(await stack.exec('prometheus', [...argv, `http://127.0.0.1:9090${path}`])) as {
    status: string;
    data: unknown;
  };
  if (answer.status !== 'success') throw new Error(`prometheus ${path}: ${JSON.stringify(answer)}`);
  return answer.data;
}

/** An instant query's series (a vector), as Prometheus evaluates it now. */
export async function promQuery(stack: BackupStack, query: string): Promise<Sample[]> {
  const data = (await prometheusApi(stack, '/api/v1/query', query)) as {
    result: { metric: Record<string, string>; value: [number, string] }[];
  };
  return data.result.map(({ metric, value }) => ({ labels: metric, value: Number(value[1]) }));
}

/** The state of each alert rule of a rule group (inactive, pending, firing), by alert name. */
export async function alertStates(stack: BackupStack, group: string): Promise<Record<string, string>> {
  const data = (await prometheusApi(stack, '/api/v1/rules?type=alert')) as {
    groups: { name: string; rules: { name: string; state: string; health: string; lastError?: string }[] }[];
  };
  const rules = data.groups.find((candidate) => candidate.name === group)?.rules;
  if (!rules) throw new Error(`prometheus has no rule group ${group}`);
  return Object.fromEntries(
    rules.map((rule) => [rule.name, rule.health === 'ok' ? rule.state : `${rule.health}: ${rule.lastError ?? ''}`]),
  );
}
