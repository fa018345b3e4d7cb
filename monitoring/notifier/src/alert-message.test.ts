import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertmanagerWebhookSchema, smsText } from './alert-message.js';
import { snsSmsRequest } from './sms/sns-provider.js';

const webhook = (status: 'firing' | 'resolved', alerts: number) =>
  AlertmanagerWebhookSchema.parse({
    version: '4',
    status,
    receiver: 'critical-sms-and-email',
    groupLabels: { alertname: 'TargetDown' },
    commonLabels: { alertname: 'TargetDown', severity: 'critical', service: 'api' },
    alerts: Array.from({ length: alerts }, (_, index) => ({
      status,
      labels: { alertname: 'TargetDown', severity: 'critical', service: 'api', instance: `api-${index}:9464` },
      annotations: { summary: `Target api-${index}:9464 (api) is down` },
      startsAt: '2026-11-26T20:00:00Z',
    })),
  });

describe('SMS text of an alert notification', () => {
  it('says what, how bad, where and the summary', () => {
    assert.equal(smsText(webhook('firing', 1)), '[FIRING critical] TargetDown on api: Target api-0:9464 (api) is down');
  });

  it('counts the other alerts of the group, and says when it is resolved', () => {
    assert.equal(
      smsText(webhook('firing', 3)),
      '[FIRING critical] TargetDown on api (+2 more): Target api-0:9464 (api) is down',
    );
    assert.equal(smsText(webhook('resolved', 1)), '[RESOLVED critical] TargetDown on api: resolved');
  });

  it('stays within two SMS segments', () => {
    const long = webhook('firing', 1);
    const first = long.alerts[0];
    assert.ok(first);
    first.annotations['summary'] = 'x'.repeat(1000);
    assert.equal(smsText(long).length, 300);
  });

  it('refuses what is not an Alertmanager v4 webhook', () => {
    assert.equal(AlertmanagerWebhookSchema.safeParse({ version: '3', status: 'firing', alerts: [] }).success, false);
  });
});

describe('SNS request', () => {
  it('is a transactional SMS to the number, with the sender id when set', () => {
    const request = snsSmsRequest('+34600000000', 'hello', 'Refereezy');
    const attribute = (input: typeof request, name: string) =>
      (input.MessageAttributes as Record<string, { StringValue?: string } | undefined>)[name]?.StringValue;
    assert.equal(request.PhoneNumber, '+34600000000');
    assert.equal(attribute(request, 'AWS.SNS.SMS.SMSType'), 'Transactional');
    assert.equal(attribute(request, 'AWS.SNS.SMS.SenderID'), 'Refereezy');
    assert.equal(attribute(snsSmsRequest('+34600000000', 'hello'), 'AWS.SNS.SMS.SenderID'), undefined);
  });
});
