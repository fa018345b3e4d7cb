// `npm run provision`'s command line as a user meets it: --help, and which error comes first.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../support/paths.js';

const provision = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'provision/main.ts', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, SSH_AUTH_SOCK: '', PROVISION_SSH_KEY: '' },
  });

describe('provision CLI', () => {
  it('when run with --help, then it prints the usage on stdout and exits 0', () => {
    const run = provision('--help');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^usage: npm run provision -- <inventory name\|path> \[options\]/);
  });

  it("when both the inventory is bad and the key is missing, then the inventory's errors are reported (exit 1)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'provision-cli-'));
    try {
      const inventory = path.join(dir, 'bad.yaml');
      writeFileSync(inventory, 'bastion: { host: b, user: ops }\nhosts:\n  web1: { address: 10.0.0.1, port: 70000 }\n');
      const run = provision(inventory, '--identity', path.join(dir, 'no-such-key'));
      assert.equal(run.status, 1);
      assert.match(run.stderr, /bad\.yaml:3: hosts\.web1\.port/);
      assert.doesNotMatch(run.stderr, /no private key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
