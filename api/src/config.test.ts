import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './config.js';

const minimal = { DB_HOST: 'db', DB_NAME: 'refereezy', DB_USER: 'refereezy', DB_PASSWORD: 's3cret' };

describe('loadConfig', () => {
  it('when only the database settings are given, then the rest takes its defaults', () => {
    const config = loadConfig(minimal);
    assert.equal(config.API_PORT, 3000);
    assert.equal(config.DB_PORT, 5432);
    assert.equal(config.DB_POOL_MAX, 10);
    assert.equal(config.LOG_LEVEL, 'info');
  });

  it('when numbers come as strings, then they are parsed', () => {
    assert.equal(loadConfig({ ...minimal, API_PORT: '8081', DB_POOL_MAX: '4' }).API_PORT, 8081);
  });

  it('when variables are missing or invalid, then the error names each one and never a value', () => {
    assert.throws(
      () => loadConfig({ DB_HOST: 'db', DB_PASSWORD: 'hunter2-leaked?', API_PORT: '70000', LOG_LEVEL: 'loud' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const name of ['API_PORT', 'DB_NAME', 'DB_USER', 'LOG_LEVEL'])
          assert.match(error.message, new RegExp(name));
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
  });

  it('when nothing says otherwise, then every database session has statement, lock and idle-transaction timeouts, and migrations a bounded lock wait', () => {
    const config = loadConfig(minimal);
    assert.equal(config.DB_STATEMENT_TIMEOUT_MS, 10_000);
    assert.equal(config.DB_LOCK_TIMEOUT_MS, 5_000);
    assert.equal(config.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS, 30_000);
    assert.equal(config.DB_MIGRATION_LOCK_WAIT_MS, 120_000);
    assert.equal(config.REALTIME_MAX_ATTEMPTS, 5);
  });

  it('when nothing says otherwise, then writes are limited to a burst of 60 a user, refilled at 1/s; 0 turns the limit off', () => {
    const config = loadConfig(minimal);
    assert.equal(config.API_WRITE_LIMIT_BURST, 60);
    assert.equal(config.API_WRITE_LIMIT_PER_SECOND, 1);
    assert.equal(loadConfig({ ...minimal, API_WRITE_LIMIT_BURST: '0' }).API_WRITE_LIMIT_BURST, 0);
    assert.throws(() => loadConfig({ ...minimal, API_WRITE_LIMIT_PER_SECOND: '0' }), /API_WRITE_LIMIT_PER_SECOND/);
  });

  it('when NODE_ENV is production and an emulator is set, then the config is refused, naming each variable', () => {
    const emulators = { FIREBASE_AUTH_EMULATOR_HOST: 'firebase:9099', FIRESTORE_EMULATOR_HOST: 'firebase:8080' };
    assert.throws(
      () => loadConfig({ ...minimal, ...emulators, NODE_ENV: 'production' }),
      /^ConfigError: invalid API environment: FIREBASE_AUTH_EMULATOR_HOST: must not be set with NODE_ENV=production \(the emulators accept unsigned tokens\); FIRESTORE_EMULATOR_HOST: must not/,
    );
    assert.throws(
      () => loadConfig({ ...minimal, FIRESTORE_EMULATOR_HOST: 'firebase:8080', NODE_ENV: 'production' }),
      /FIRESTORE_EMULATOR_HOST: must not be set/,
    );
    assert.equal(loadConfig({ ...minimal, NODE_ENV: 'production' }).FIREBASE_AUTH_EMULATOR_HOST, undefined);
    assert.equal(
      loadConfig({ ...minimal, ...emulators, NODE_ENV: 'replica' }).FIREBASE_AUTH_EMULATOR_HOST,
      'firebase:9099',
    );
  });

  it('when the API is started in production with an emulator set, then it exits at once with a fatal log line saying why', () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const started = spawnSync(process.execPath, ['--import', 'tsx', main], {
      env: {
        PATH: process.env.PATH ?? '',
        ...minimal,
        NODE_ENV: 'production',
        FIREBASE_AUTH_EMULATOR_HOST: 'firebase:9099',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(started.status, 1, started.stderr);
    const line = JSON.parse(started.stdout.trim().split('\n').at(-1) ?? '{}') as {
      'log.level'?: string;
      message?: string;
    };
    assert.equal(line['log.level'], 'fatal');
    assert.match(
      line.message ?? '',
      /API refused to start: .*FIREBASE_AUTH_EMULATOR_HOST: must not be set with NODE_ENV=production/,
    );
  });
});
