import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { z } from 'zod';
import { imageTag, repoRoot } from './paths.js';

const run = promisify(execFile);

const smsMessagesSchema = z.object({
  messages: z.array(
    z.object({
      accountId: z.string(),
      region: z.string(),
      messageId: z.string(),
      phoneNumber: z.string(),
      message: z.string(),
    }),
  ),
});
const recordedRequestSchema = z.object({
  method: z.string(),
  url: z.string(),
  body: z.string().nullable().optional(),
  body_encoded: z.boolean().optional(),
});

export type PublishedSms = z.infer<typeof smsMessagesSchema>['messages'][number];

/** The image of compose/aws-emulator (moto's server from Debian), built as the other images are. */
export async function buildAwsEmulatorImage(): Promise<string> {
  const image = `refereezy/aws-emulator:${imageTag}`;
  await run(
    'docker',
    [
      'build',
      '--quiet',
      '--build-arg',
      `BASE_IMAGE=${process.env.BASE_IMAGE ?? 'debian:trixie-slim'}`,
      '--tag',
      image,
      'compose/aws-emulator',
    ],
    {
      cwd: repoRoot,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return image;
}

/** A running moto server: the AWS endpoint to point the SDK at, and what its SNS backend received. */
export class StartedAwsEmulator {
  constructor(private readonly container: StartedTestContainer) {}

  /** http://host:port, for AWS_ENDPOINT_URL_<SERVICE> or an SDK client's `endpoint`. */
  get endpoint(): string {
    return `http://${this.container.getHost()}:${this.container.getMappedPort(5000)}`;
  }

  /** Every SMS SNS was asked to publish to a phone number, read from moto's SNS backend. */
  async smsMessages(): Promise<PublishedSms[]> {
    const response = await fetch(`${this.endpoint}/moto-api/sns/sms-messages`);
    if (!response.ok)
      throw new Error(
        `aws-emulator: GET /moto-api/sns/sms-messages answered ${response.status}: ${await response.text()}`,
      );
    return smsMessagesSchema.parse(await response.json()).messages;
  }

  /** Starts (afresh) recording every request the emulator receives. */
  async startRecording(): Promise<void> {
    for (const action of ['reset-recording', 'start-recording']) {
      const response = await fetch(`${this.endpoint}/moto-api/recorder/${action}`, { method: 'POST' });
      if (!response.ok) throw new Error(`aws-emulator: ${action} answered ${response.status}`);
    }
  }

  /**
   * The requests recorded since startRecording(), each with its parameters as the AWS query
   * protocol sent them (Action=Publish, MessageAttributes.entry.1.Name=…), or its JSON body.
   */
  async recordedRequests(): Promise<{ method: string; url: string; parameters: Record<string, unknown> }[]> {
    const response = await fetch(`${this.endpoint}/moto-api/recorder/download-recording`);
    if (!response.ok) throw new Error(`aws-emulator: download-recording answered ${response.status}`);
    return (await response.text())
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => recordedRequestSchema.parse(JSON.parse(line)))
      .filter((request) => !request.url.includes('/moto-api/'))
      .map((request) => {
        const body = request.body_encoded
          ? Buffer.from(request.body ?? '', 'base64').toString('utf8')
          : (request.body ?? '');
        const parameters: Record<string, unknown> = body.trimStart().startsWith('{')
          ? (JSON.parse(body) as Record<string, unknown>)
          : Object.fromEntries(new URLSearchParams(body));
        return { method: request.method, url: request.url, parameters };
      });
  }

  /** Forgets everything every backend holds (moto's own reset). */
  async reset(): Promise<void> {
    const response = await fetch(`${this.endpoint}/moto-api/reset`, { method: 'POST' });
    if (!response.ok) throw new Error(`aws-emulator: reset answered ${response.status}`);
  }

  async stop(): Promise<void> {
    await this.container.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

export async function startAwsEmulator(): Promise<StartedAwsEmulator> {
  const image = await buildAwsEmulatorImage();
  const container = await new GenericContainer(image)
    .withExposedPorts(5000)
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(60_000)
    .start();
  return new StartedAwsEmulator(container);
}
