// The blue-green deploy's pure parts (provision/deploy): which colour a deploy takes, what a switch
// and a rollback do to the state, the lock and the log, and the smoke tests' verdicts on answers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DeployLock, DeployLockedError } from '../../provision/deploy/lock.js';
import { DeployLog } from '../../provision/deploy/log.js';
import { conforms, smokeFailures, smokeTest, type Prober } from '../../provision/deploy/smoke.js';
import { idleColour, initialState, statusLines, switched } from '../../provision/deploy/state.js';

describe('blue-green state', () => {
  it('when nothing was deployed, then the first deploy goes to blue and base is its fallback', () => {
    assert.equal(idleColour(initialState), 'blue');
    const after = switched(initialState, 'blue', '2026-12-02T04:00:00Z');
    assert.deepEqual([after.live, after.previous, after.since], ['blue', 'base', '2026-12-02T04:00:00Z']);
    assert.equal(idleColour(after), 'green');
  });

  it('when a rollback switches to the fallback, then the colour it left becomes the fallback', () => {
    const onGreen = switched(switched(initialState, 'blue', 't1'), 'green', 't2');
    assert.deepEqual([onGreen.live, onGreen.previous], ['green', 'blue']);
    const back = switched(onGreen, 'blue', 't3');
    assert.deepEqual([back.live, back.previous, back.since], ['blue', 'green', 't3']);
  });

  it('when status is shown, then each pool has its role, version and since', () => {
    const state = switched(
      {
        ...initialState,
        colours: { blue: { version: 'abc123', images: { api: 'r/refereezy/api@sha256:1' }, deployedAt: 't1' } },
      },
      'blue',
      't2',
    );
    const lines = statusLines(state, { base: 'UP', blue: 'UP' }, 'dev');
    assert.match(lines[1] ?? '', /^base\s+fallback\s+dev\s+-\s+UP/);
    assert.match(lines[2] ?? '', /^blue\s+live\s+abc123\s+t2\s+UP\s+api=r\/refereezy\/api@sha256:1$/);
  });
});

describe('deploy lock and log', () => {
  it('when a second deploy takes the lock, then it is refused naming the holder; after release it is free', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'deploy-lock-'));
    try {
      const file = path.join(dir, 'replica.lock');
      const first = DeployLock.acquire(file, 'replica', 'deploy --version a');
      assert.throws(
        () => DeployLock.acquire(file, 'replica', 'deploy --version b'),
        (error: unknown) => {
          assert.ok(error instanceof DeployLockedError);
          assert.match(error.message, /locked by .+@.+ \(pid \d+, "deploy --version a", since /);
          return true;
        },
      );
      first.release();
      DeployLock.acquire(file, 'replica', 'rollback').release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when records are appended, then the log reads them back, and a bad record is refused', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'deploy-log-'));
    try {
      const log = new DeployLog(path.join(dir, 'deploys.log'));
      log.append({
        at: 't',
        who: 'a@b',
        environment: 'replica',
        action: 'deploy',
        version: 'v1',
        result: 'switched',
        ms: 1200,
      });
      assert.deepEqual(
        log.read().map((r) => [r.action, r.version, r.result]),
        [['deploy', 'v1', 'switched']],
      );
      assert.throws(() =>
        log.append({ at: 't', who: 'a', environment: 'replica', action: 'deploy', result: 'maybe' as 'done' }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('smoke tests', () => {
  const document = {
    paths: {
      '/api/competitions': {
        get: {
          responses: {
            '200': {
              content: {
                'application/json': {
                  schema: { type: 'object', required: ['items'], properties: { items: { type: 'array' } } },
                },
              },
            },
          },
        },
        post: {
          responses: { '201': { content: { 'application/json': { schema: { type: 'object', required: ['id'] } } } } },
        },
      },
    },
  };

  it('when an answer matches its documented schema, then it conforms; otherwise the reason names the route', () => {
    assert.equal(
      conforms(document, 'GET', '/api/competitions', {
        status: 200,
        contentType: 'application/json',
        body: '{"items":[]}',
      }),
      null,
    );
    assert.match(
      conforms(document, 'GET', '/api/competitions', {
        status: 200,
        contentType: 'application/json',
        body: '{"entries":[]}',
      }) ?? '',
      /GET \/api\/competitions 200: .*items/,
    );
    assert.match(
      conforms(document, 'GET', '/api/competitions', { status: 418, contentType: '', body: '' }) ?? '',
      /418, which the document does not list/,
    );
  });

  const healthy: Prober = async (target, method, urlPath) => {
    await Promise.resolve();
    if (target === 'api')
      return {
        status: 200,
        contentType: 'application/json',
        body: urlPath === '/healthz' ? '{"status":"ok","version":"v2"}' : '{"status":"ready"}',
      };
    if (urlPath === '/api/openapi.json')
      return { status: 200, contentType: 'application/json', body: JSON.stringify(document) };
    if (urlPath === '/api/competitions')
      return method === 'GET'
        ? { status: 200, contentType: 'application/json', body: '{"items":[]}' }
        : { status: 201, contentType: 'application/json', body: '{"id":1}' };
    if (urlPath === '/') return { status: 200, contentType: 'text/html', body: '<title>Refereezy</title>' };
    return { status: 200, contentType: 'text/css', body: 'body{}' };
  };

  it('when every probe answers as it should, then all checks pass', async () => {
    const checks = await smokeTest(healthy, 'v2', 'token');
    assert.deepEqual(
      checks.filter((c) => !c.ok),
      [],
    );
    assert.equal(checks.length, 7);
  });

  it('when the API answers another version and is not ready, then both checks fail and say what they saw', async () => {
    const unready: Prober = async (target, method, urlPath, options) =>
      target === 'api'
        ? {
            status: urlPath === '/readyz' ? 503 : 200,
            contentType: 'application/json',
            body: '{"status":"ok","version":"v1"}',
          }
        : healthy(target, method, urlPath, options);
    const failures = smokeFailures(await smokeTest(unready, 'v2', 'token'));
    assert.match(failures, /API health: HTTP 200, version v1 \(expected v2\)/);
    assert.match(failures, /API readiness: HTTP 503/);
  });
});
