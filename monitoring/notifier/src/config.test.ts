import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadNotifierConfig, loadReportConfig } from './config.js';
import { untilNext } from './report/daily-report.js';

describe('notifier configuration', () => {
  it('reads the outbox provider and the recipients', () => {
    const config = loadNotifierConfig({ SMS_PROVIDER: 'outbox', SMS_RECIPIENTS: '+34600000001, +34600000002' });
    assert.deepEqual(config.SMS_RECIPIENTS, ['+34600000001', '+34600000002']);
    assert.equal(config.SMS_PROVIDER === 'outbox' && config.SMS_OUTBOX_FILE, '/var/spool/sms/outbox.jsonl');
  });

  it('names what is wrong: a number that is not E.164, SNS without a region, an unknown provider', () => {
    assert.throws(
      () => loadNotifierConfig({ SMS_PROVIDER: 'outbox', SMS_RECIPIENTS: '600000001' }),
      (error: unknown) => error instanceof ConfigError && /SMS_RECIPIENTS.*E\.164/.test(error.message),
    );
    assert.throws(() => loadNotifierConfig({ SMS_PROVIDER: 'sns', SMS_RECIPIENTS: '+34600000001' }), /AWS_REGION/);
    assert.throws(() => loadNotifierConfig({ SMS_PROVIDER: 'pigeon', SMS_RECIPIENTS: '+34600000001' }), /SMS_PROVIDER/);
  });

  it('reads the report settings, plain SMTP only when told', () => {
    const config = loadReportConfig({
      SMTP_HOST: 'mail',
      SMTP_REQUIRE_TLS: 'false',
      REPORT_FROM: 'ops@refereezy.local',
      REPORT_TO: 'a@refereezy.local,b@refereezy.local',
    });
    assert.equal(config.SMTP_REQUIRE_TLS, false);
    assert.deepEqual(config.REPORT_TO, ['a@refereezy.local', 'b@refereezy.local']);
    assert.equal(
      loadReportConfig({ SMTP_HOST: 'mail', REPORT_FROM: 'ops@refereezy.local', REPORT_TO: 'a@refereezy.local' })
        .SMTP_REQUIRE_TLS,
      true,
    );
  });
});

describe('daily schedule', () => {
  it('waits until the next HH:MM UTC, tomorrow when today’s has passed', () => {
    const now = new Date('2026-11-26T06:30:00Z');
    assert.equal(untilNext('07:00', now), 30 * 60_000);
    assert.equal(untilNext('06:00', now), 23.5 * 3_600_000);
    assert.equal(untilNext('06:30', now), 24 * 3_600_000);
  });
});
