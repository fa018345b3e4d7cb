// The database images' entrypoints (compose/db, compose/patroni) take the API role's password as
// DB_PASSWORD, the name .env, the API and the vault (db_password) use; the old name is refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/paths.js';

const entrypoints = ['compose/db/entrypoint.sh', 'compose/patroni/entrypoint.sh'];

// Only the checks at the top run: each case fails before the entrypoint touches anything.
function start(entrypoint: string, env: Record<string, string>) {
  return spawnSync('bash', [path.join(repoRoot, entrypoint)], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
  });
}

describe('database entrypoints: the API role password', () => {
  for (const entrypoint of entrypoints) {
    const cases: { when: string; env: Record<string, string>; stderr: RegExp }[] = [
      {
        when: 'the old name APP_DB_PASSWORD is set',
        env: { APP_DB_PASSWORD: 'x', DB_PASSWORD: 'y', MONITOR_DB_PASSWORD: 'z' },
        stderr: /APP_DB_PASSWORD is now DB_PASSWORD .*: rename it/,
      },
      {
        when: 'DB_PASSWORD is missing',
        env: { MONITOR_DB_PASSWORD: 'z' },
        stderr: /DB_PASSWORD must be set \(the password of the API role\)/,
      },
    ];
    for (const { when, env, stderr } of cases) {
      it(`when ${when}, then ${entrypoint} stops with a clear error`, () => {
        const result = start(entrypoint, env);
        assert.equal(result.status, 1, result.stderr);
        assert.match(result.stderr, stderr);
      });
    }
  }
});
