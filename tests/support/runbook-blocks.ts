import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/**
 * The fenced shell blocks of a runbook tagged for one environment, by name:
 *   ```sh replica name=status
 * so a test runs exactly the commands an operator reads, and a runbook cannot rot.
 */
export function runbookBlocks(path: string, environment: string): Map<string, string> {
  const text = readFileSync(join(repoRoot, path), 'utf8');
  const blocks = new Map<string, string>();
  for (const match of text.matchAll(/^```sh ([^\n]*)\n([\s\S]*?)^```$/gm)) {
    const tags = (match[1] ?? '').split(/\s+/);
    const name = tags.find((tag) => tag.startsWith('name='))?.slice('name='.length);
    if (tags.includes(environment) && name) blocks.set(name, match[2] ?? '');
  }
  return blocks;
}

/** Runs a block with bash (-euo pipefail) in the repository, with the replica's compose variables. */
export function runShellBlock(block: string, environment: Record<string, string>, timeoutMs: number): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', block], { cwd: repoRoot, env: { ...process.env, ...environment }, timeout: timeoutMs });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code ?? 1, output }));
  });
}
