// The SMS notifier's production path, Amazon SNS, against a local AWS API (moto's server from
// Debian, compose/aws-emulator) with the real AWS SDK for JavaScript: the notifier is configured as
// production configures it (SMS_PROVIDER=sns, a region, instance credentials — here the SDK's
// environment credentials), only the SNS endpoint points at the emulator (AWS_ENDPOINT_URL_SNS, the
// SDK's own setting). What SNS received is read back from moto's SNS backend. The same emulator's S3
// takes the static assets through `npm run assets -- publish <inventory>` (the production path).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { loadNotifierConfig } from '../../monitoring/notifier/src/config.js';
import { smsText, type AlertmanagerWebhook } from '../../monitoring/notifier/src/alert-message.js';
import { startSmsNotifier, type StartedNotifier } from '../../monitoring/notifier/src/sms-notifier.js';
import { SnsProvider } from '../../monitoring/notifier/src/sms/sns-provider.js';
import { startAwsEmulator, type StartedAwsEmulator } from '../support/aws-emulator.js';
import { repoRoot } from '../support/paths.js';
import { useRyukOnlyWhereAvailable } from '../support/ryuk.js';

let emulator: StartedAwsEmulator | undefined;
let notifier: StartedNotifier | undefined;
const logs: object[] = [];
const recipients = ['+34600000001', '+34600000002'];

const webhook: AlertmanagerWebhook = {
  version: '4',
  status: 'firing',
  receiver: 'sms',
  groupKey: '{}:{alertname="TargetDown"}',
  groupLabels: { alertname: 'TargetDown' },
  commonLabels: { alertname: 'TargetDown', severity: 'critical', service: 'api' },
  commonAnnotations: { summary: 'api1:9464 is down' },
  externalURL: 'http://alertmanager:9093',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'TargetDown', severity: 'critical', service: 'api', instance: 'api1:9464' },
      annotations: { summary: 'api1:9464 is down' },
      startsAt: new Date().toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph',
      fingerprint: 'abc123',
    },
  ],
} as unknown as AlertmanagerWebhook;

before(async () => {
  await useRyukOnlyWhereAvailable();
  emulator = await startAwsEmulator();
  // The SDK's own configuration: endpoint and credentials from the environment, as on an instance.
  process.env.AWS_ENDPOINT_URL_SNS = emulator.endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'AKIAREPLICATESTONLY0';
  process.env.AWS_SECRET_ACCESS_KEY = 'replica-test-only';
  delete process.env.AWS_PROFILE;
});

after(async () => {
  await notifier?.stop();
  await emulator?.stop();
});

describe('the SMS notifier over Amazon SNS (moto)', () => {
  it('when Alertmanager posts a critical alert, then SNS receives one transactional SMS per on-call number with the alert text', async () => {
    assert.ok(emulator);
    const config = loadNotifierConfig({
      SMS_PROVIDER: 'sns',
      AWS_REGION: 'eu-west-1',
      SMS_SENDER_ID: 'Refereezy',
      SMS_RECIPIENTS: recipients.join(','),
    });
    assert.equal(config.SMS_PROVIDER, 'sns');
    await emulator.startRecording();
    notifier = await startSmsNotifier({
      port: 0,
      provider: new SnsProvider(config.AWS_REGION, config.SMS_SENDER_ID),
      recipients: config.SMS_RECIPIENTS,
      log: (entry) => logs.push(entry),
    });

    const response = await fetch(`http://127.0.0.1:${notifier.port}/alert`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(webhook),
    });
    assert.equal(response.status, 200, `${await response.clone().text()} ${JSON.stringify(logs)}`);
    assert.deepEqual(await response.json(), { sent: 2, failed: 0 });

    const published = await emulator.smsMessages();
    const text = smsText(webhook);
    assert.deepEqual(
      published
        .map((sms) => ({ to: sms.phoneNumber, text: sms.message, region: sms.region }))
        .sort((a, b) => a.to.localeCompare(b.to)),
      recipients.map((to) => ({ to, text, region: 'eu-west-1' })),
    );
    assert.match(text, /TargetDown/);

    // What went over the wire: SNS Publish, transactional (never throttled as promotional), with the sender id.
    const publishes = (await emulator.recordedRequests())
      .map((request) => request.parameters)
      .filter((parameters) => parameters.Action === 'Publish');
    assert.equal(publishes.length, recipients.length, JSON.stringify(publishes));
    for (const parameters of publishes) {
      const attributes = Object.fromEntries(
        [1, 2].map((index) => [
          parameters[`MessageAttributes.entry.${String(index)}.Name`],
          parameters[`MessageAttributes.entry.${String(index)}.Value.StringValue`],
        ]),
      ) as Record<string, unknown>;
      assert.deepEqual(attributes, { 'AWS.SNS.SMS.SMSType': 'Transactional', 'AWS.SNS.SMS.SenderID': 'Refereezy' });
    }
  });

  it('when SNS refuses a number, then the provider rejects with SNS’s reason and nothing is published for it', async () => {
    assert.ok(emulator);
    await emulator.reset();
    const provider = new SnsProvider('eu-west-1');
    await assert.rejects(provider.send('0034600000001', 'not E.164'), (error: Error) => {
      assert.match(`${error.name}: ${error.message}`, /E\.?164|InvalidParameter/i);
      return true;
    });
    assert.deepEqual(await emulator.smsMessages(), []);
  });

  it('when every number is refused, then the notifier answers 502 so Alertmanager retries, naming the cause', async () => {
    assert.ok(emulator);
    await emulator.reset();
    const refusing = await startSmsNotifier({
      port: 0,
      provider: new SnsProvider('eu-west-1'),
      recipients: ['0000'],
      log: (entry) => logs.push(entry),
    });
    try {
      const response = await fetch(`http://127.0.0.1:${refusing.port}/alert`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(webhook),
      });
      assert.equal(response.status, 502);
      const body = (await response.json()) as { error: string };
      assert.match(body.error, /the SMS provider refused every message: .*(E\.?164|InvalidParameter)/i);
    } finally {
      await refusing.stop();
    }
  });
});

describe('npm run assets -- publish <inventory>: the assets bucket through the AWS SDK (moto’s S3)', () => {
  const bucket = 'refereezy-test-assets';
  const scratch = mkdtempSync(path.join(tmpdir(), 'assets-inventory-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const inventory = (vars: Record<string, string>) => {
    const file = path.join(scratch, `inventory-${Object.keys(vars).length}.yaml`);
    const lines = Object.entries(vars).map(([key, value]) => `  ${key}: ${JSON.stringify(value)}`);
    writeFileSync(
      file,
      [
        'bastion: { host: bastion.invalid, user: ops }',
        'hosts:',
        '  web1: { address: 10.0.1.10, groups: [web] }',
        'groups:',
        '  web: {}',
        'vars:',
        ...lines,
        '',
      ].join('\n'),
    );
    return file;
  };
  const publish = async (file: string) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'provision/assets/cli.ts', 'publish', file], {
      cwd: repoRoot,
      env: process.env,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (caught: unknown) => {
        const error = caught as { code?: number; stdout?: string; stderr?: string };
        return { code: error.code ?? 1, stdout: error.stdout ?? '', stderr: error.stderr ?? '' };
      },
    );
  const s3 = () => new S3Client({ region: 'eu-west-1', endpoint: emulator?.endpoint ?? '', forcePathStyle: true });
  const keys = async () =>
    ((await s3().send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((object) => object.Key).sort();

  it("when published to an inventory's bucket twice, then the objects are there with their hash, type and cache time, and the second run puts nothing", async () => {
    await s3().send(
      new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }),
    );
    const file = inventory({
      assets_bucket: bucket,
      assets_region: 'eu-west-1',
      assets_endpoint_url: emulator?.endpoint ?? '',
    });
    const first = await publish(file);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /s3:\/\/refereezy-test-assets\/assets\/: put 5, unchanged 0/);
    const second = await publish(file);
    assert.match(second.stdout, /put 0, unchanged 5/, second.stderr);
    assert.equal((await keys()).length, 5);
    const css = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: 'assets/app.css' }));
    assert.equal(
      await css.Body?.transformToString(),
      readFileSync(path.join(repoRoot, 'web', 'assets', 'app.css'), 'utf8'),
    );
    assert.equal(css.ContentType, 'text/css; charset=utf-8');
    assert.equal(css.CacheControl, 'public, max-age=300');
    assert.match(css.Metadata?.sha256 ?? '', /^[0-9a-f]{64}$/);
  });

  it('when the inventory names no bucket, then it is refused naming the vars, and the bucket is untouched', async () => {
    const before = await keys();
    const refused = await publish(inventory({ assets_region: 'eu-west-1' }));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /vars\.assets_bucket: required: the assets bucket/);
    assert.deepEqual(await keys(), before);
  });
});
