import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './paths.js';

const run = promisify(execFile);

export type RunbookEnvironment = 'replica' | 'production' | 'lab';

/**
 * The fenced shell blocks of a runbook (docs/runbooks/*.md) written for one environment, in order:
 * "```sh replica" is an unnamed replica block, "```sh replica deactivate" the block `deactivate`.
 * Tests run them as written, so a runbook cannot drift from what works.
 */
export function runbookBlockList(
  runbook: string,
  environment: RunbookEnvironment,
): { name: string | undefined; code: string }[] {
  const text = readFileSync(join(repoRoot, 'docs/runbooks', runbook), 'utf8');
  const blocks = [...text.matchAll(/^```sh (\w+)(?: ([\w-]+))?\n([\s\S]*?)^```$/gm)]
    .filter((match) => match[1] === environment)
    .map((match) => ({ name: match[2], code: match[3] ?? '' }));
  if (blocks.length === 0) throw new Error(`docs/runbooks/${runbook} has no \`\`\`sh ${environment} blocks`);
  return blocks;
}

/** The named blocks of runbookBlockList(), by name. */
export function runbookBlocks(runbook: string, environment: RunbookEnvironment): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const { name, code } of runbookBlockList(runbook, environment)) {
    if (name === undefined) continue;
    if (blocks.has(name)) throw new Error(`${runbook}: two ${environment} blocks are named ${name}`);
    blocks.set(name, code);
  }
  return blocks;
}

/**
 * Values for the variables docker-compose.yml requires (`${NAME:?…}`): `docker compose exec` and
 * `logs` read the whole file, though they use none of them. An operator has them in .env.
 */
export function composeRequiredVariables(): Record<string, string> {
  const text = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
  return Object.fromEntries(
    [...text.matchAll(/\$\{(\w+):\?/g)].map((match) => [match[1] ?? '', 'unused-by-the-runbook']),
  );
}

/** Runs blocks one after another in one bash (`set -euo pipefail`) from the repository root; returns stdout. */
export async function runBlocks(code: string[], env: Record<string, string>): Promise<string> {
  try {
    const { stdout } = await run('bash', ['-c', ['set -euo pipefail', ...code].join('\n')], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 120_000,
    });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `runbook commands failed: ${(error as Error).message}\n── stdout ──\n${stdout}\n── stderr ──\n${stderr}`,
    );
  }
}

/** Runs one block with bash (-euo pipefail) from the repository root; never throws for its exit code. */
export function runShellBlock(
  block: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', block], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      timeout: timeoutMs,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code ?? 1, output }));
  });
}
