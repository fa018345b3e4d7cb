// docs/runbooks/terraform.md cannot rot: its ```sh replica blocks are run here as an operator would
// paste them (bash -euo pipefail, from the repo root).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../support/paths.js';
import { runbookBlockList } from '../support/runbook-commands.js';

const run = promisify(execFile);
const runbook = readFileSync(new URL('../../docs/runbooks/terraform.md', import.meta.url), 'utf8');
const blocks = runbookBlockList('terraform.md', 'replica').map((block) => block.code);

describe('docs/runbooks/terraform.md', () => {
  it('when read, then it has replica blocks to run and production blocks for AWS', () => {
    assert.ok(blocks.length >= 1);
    assert.match(runbook, /^```sh production$/m);
  });

  for (const [index, block] of blocks.entries()) {
    it(`when replica block ${index + 1} is run, then every command succeeds`, async () => {
      const { stdout, stderr } = await run('bash', ['-euo', 'pipefail', '-c', block], {
        cwd: repoRoot,
        timeout: 120_000,
      }).catch((caught: unknown) => {
        const error = caught as { stdout: string; stderr: string; message: string };
        throw new Error(`runbook block ${index + 1} failed: ${error.message}\n${error.stdout}${error.stderr}`);
      });
      assert.match(stdout + stderr, /agree with security-groups|is current|matches Terraform/);
    });
  }
});
