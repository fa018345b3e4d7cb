import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SmsProvider } from './sms-provider.js';

export interface OutboxMessage {
  to: string;
  text: string;
  sentAt: string;
}

/** The replica's SMS provider: one JSON line per message in a file; nothing leaves the machine. */
export class OutboxProvider implements SmsProvider {
  readonly name = 'outbox';

  constructor(private readonly file: string) {}

  async send(to: string, text: string): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const message: OutboxMessage = { to, text, sentAt: new Date().toISOString() };
    await appendFile(this.file, `${JSON.stringify(message)}\n`);
  }

  async messages(): Promise<OutboxMessage[]> {
    try {
      const content = await readFile(this.file, 'utf8');
      return content
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as OutboxMessage);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return [];
      throw error;
    }
  }
}
