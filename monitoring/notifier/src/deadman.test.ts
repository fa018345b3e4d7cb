import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadDeadmanConfig } from './config.js';
import { DeadmanSwitch, deadmanText, startDeadman } from './deadman.js';
import { OutboxProvider } from './sms/outbox-provider.js';

const minute = 60_000;
const watchdog = (status: 'firing' | 'resolved' = 'firing', alertname = 'Watchdog') => ({
  version: '4',
  status,
  receiver: 'deadmans-switch',
  groupLabels: { alertname },
  commonLabels: { alertname, severity: 'none' },
  alerts: [
    {
      status,
      labels: { alertname, severity: 'none' },
      annotations: { summary: 'Alerting pipeline heartbeat' },
      startsAt: '2026-12-02T00:00:00Z',
    },
  ],
});

describe("the dead man's switch (state machine)", () => {
  it('when beats keep coming, then it never says anything', () => {
    const deadman = new DeadmanSwitch(5 * minute, 0);
    for (let at = minute; at < 60 * minute; at += minute) {
      assert.equal(deadman.beat(at), undefined);
      assert.equal(deadman.check(at + 30_000), undefined);
    }
  });

  it('when no beat came for the timeout, then it says "down" once, and "recovered" once on the next beat', () => {
    const deadman = new DeadmanSwitch(5 * minute, 0);
    deadman.beat(minute);
    assert.equal(deadman.check(5 * minute), undefined, 'four minutes of silence is not yet down');
    assert.deepEqual(deadman.check(6 * minute), { kind: 'down', silentForMs: 5 * minute, lastBeatAt: minute });
    assert.equal(deadman.check(7 * minute), undefined, 'said once');
    assert.deepEqual(deadman.beat(9 * minute), { kind: 'recovered', downForMs: 3 * minute });
    assert.equal(deadman.beat(10 * minute), undefined);
  });

  it('when no beat ever came, then it counts from its own start', () => {
    const deadman = new DeadmanSwitch(5 * minute, 1_000);
    assert.equal(deadman.check(5 * minute), undefined);
    assert.deepEqual(deadman.check(5 * minute + 1_000), {
      kind: 'down',
      silentForMs: 5 * minute,
      lastBeatAt: undefined,
    });
  });

  it('says what is wrong in the text', () => {
    assert.match(
      deadmanText({ kind: 'down', silentForMs: 5 * minute, lastBeatAt: 0 }, 'production'),
      /^\[FIRING critical\] MonitoringDown on production: no Watchdog heartbeat for 5 min \(last at 1970-01-01T00:00:00\.000Z\)/,
    );
    assert.equal(
      deadmanText({ kind: 'recovered', downForMs: 90_000 }, 'replica'),
      '[RESOLVED critical] MonitoringDown on replica: the Watchdog heartbeat is back after 90 s',
    );
  });
});

describe("the dead man's switch configuration", () => {
  const env = {
    SMS_PROVIDER: 'outbox',
    SMS_RECIPIENTS: '+34600000001',
    SMTP_HOST: 'mail',
    DEADMAN_FROM: 'deadman@refereezy.local',
    DEADMAN_TO: 'admins@refereezy.local',
  };
  it('reads the timeout as a duration, five minutes by default', () => {
    assert.equal(loadDeadmanConfig(env).DEADMAN_TIMEOUT, 5 * minute);
    assert.equal(loadDeadmanConfig({ ...env, DEADMAN_TIMEOUT: '90s' }).DEADMAN_TIMEOUT, 90_000);
  });
  it('names what is wrong', () => {
    assert.throws(
      () => loadDeadmanConfig({ ...env, DEADMAN_TIMEOUT: 'soon' }),
      (error: unknown) => error instanceof ConfigError && /DEADMAN_TIMEOUT/.test(error.message),
    );
    assert.throws(() => loadDeadmanConfig({ ...env, DEADMAN_TO: '' }), /DEADMAN_TO/);
  });
});

describe("the dead man's switch (service)", () => {
  it('when the Watchdog stops, then it texts and mails once; when it is back, it says so; a resolved or other alert is no beat', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deadman-'));
    let clock = 0;
    const mails: string[] = [];
    let mailWorks = false;
    const deadman = await startDeadman({
      config: {
        DEADMAN_PORT: 0,
        DEADMAN_TIMEOUT: 5 * minute,
        SMS_RECIPIENTS: ['+34600000001', '+34600000002'],
        ENVIRONMENT_NAME: 'test',
      },
      provider: new OutboxProvider(join(dir, 'outbox.jsonl')),
      mail: (subject) => {
        if (!mailWorks) return Promise.reject(new Error('relay down'));
        mails.push(subject);
        return Promise.resolve();
      },
      log: () => undefined,
      now: () => clock,
      checkEveryMs: 3_600_000,
    });
    const url = `http://127.0.0.1:${deadman.port}`;
    const post = (body: unknown) =>
      fetch(`${url}/heartbeat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const outbox = async () =>
      ((await (await fetch(`${url}/outbox`)).json()) as { messages: { to: string; text: string }[] }).messages;
    try {
      assert.equal((await post(watchdog())).status, 200);
      assert.equal((await post(watchdog('resolved'))).status, 422);
      assert.equal((await post(watchdog('firing', 'TargetDown'))).status, 422);
      assert.equal((await post({ hello: 'world' })).status, 400);

      clock = 5 * minute + 1;
      await deadman.checkNow();
      const sms = await outbox();
      // Every recipient is texted at once: the outbox's order is theirs, not ours.
      assert.deepEqual(sms.map((message) => message.to).sort(), ['+34600000001', '+34600000002']);
      assert.match(sms[0]?.text ?? '', /FIRING critical\] MonitoringDown on test/);
      assert.equal(mails.length, 0, 'the relay refused the mail');

      // The mail is tried again at the next check; the SMS is not sent twice.
      mailWorks = true;
      clock += minute;
      await deadman.checkNow();
      assert.equal(mails.length, 1);
      assert.match(mails[0] ?? '', /MonitoringDown/);
      assert.equal((await outbox()).length, 2);

      assert.equal((await post(watchdog())).status, 200);
      await deadman.checkNow();
      assert.match((await outbox()).at(-1)?.text ?? '', /^\[RESOLVED critical\] MonitoringDown on test/);
      assert.match(mails.at(-1) ?? '', /RESOLVED/);
      const health = (await (await fetch(`${url}/healthz`)).json()) as { monitoring: string };
      assert.equal(health.monitoring, 'up');
    } finally {
      await deadman.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
