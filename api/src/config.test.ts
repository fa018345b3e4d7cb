import assert from 'node:assert/strict';
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
        for (const name of ['API_PORT', 'DB_NAME', 'DB_USER', 'LOG_LEVEL']) assert.match(error.message, new RegExp(name));
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
  });
});
