import { setTimeout as sleep } from 'node:timers/promises';
import { ImapFlow, type FetchMessageObject, type MessageAddressObject, type MessageStructureObject } from 'imapflow';

/** One delivered message, as a reader of the mailbox sees it. */
export interface MailMessage {
  uid: number;
  subject: string;
  /** Addresses of the From header. */
  from: string[];
  /** Addresses of the To and Cc headers. */
  to: string[];
  /** The envelope recipient the message was delivered for (Postfix's X-Original-To header). */
  originalRecipient: string;
  /** The text/plain part, decoded, lines ending in \n ('' when there is none). */
  text: string;
  /** The text/html part, decoded ('' when there is none). */
  html: string;
}

const addresses = (list: MessageAddressObject[] | undefined): string[] =>
  (list ?? []).flatMap((entry) => (entry.address ? [entry.address] : []));

/** The first inline part of the given type in the message's MIME tree. */
function findPart(node: MessageStructureObject | undefined, type: string): MessageStructureObject | undefined {
  if (!node) return undefined;
  if (node.childNodes) {
    for (const child of node.childNodes) {
      const found = findPart(child, type);
      if (found) return found;
    }
    return undefined;
  }
  return node.type === type && node.disposition !== 'attachment' ? node : undefined;
}

/**
 * A mailbox read over IMAP: in the replica, the mail service's catch-all mailbox, where every mail
 * the platform sends (alerts, reports) is delivered. Read-only: nothing is flagged or deleted.
 */
export class Mailbox {
  private readonly seen = new Map<number, MailMessage>();

  private constructor(private readonly client: ImapFlow) {}

  /** Logs in (plaintext IMAP: the replica's mailbox is reached on a private network only). */
  static async connect(host: string, port: number, user: string, password: string): Promise<Mailbox> {
    const client = new ImapFlow({
      host,
      port,
      secure: false,
      doSTARTTLS: false,
      auth: { user, pass: password },
      logger: false,
    });
    // Without a listener, a dropped connection would be an uncaught 'error' event.
    client.on('error', () => undefined);
    await client.connect();
    await client.mailboxOpen('INBOX', { readOnly: true });
    return new Mailbox(client);
  }

  /** Every message in the INBOX now, oldest first. */
  async messages(): Promise<MailMessage[]> {
    // NOOP makes the server report messages delivered since the last command.
    await this.client.noop();
    const fresh: FetchMessageObject[] = [];
    if (this.client.mailbox && this.client.mailbox.exists > 0) {
      for await (const message of this.client.fetch('1:*', {
        uid: true,
        envelope: true,
        bodyStructure: true,
        headers: ['x-original-to'],
      })) {
        if (!this.seen.has(message.uid)) fresh.push(message);
      }
    }
    // Parts are downloaded only once the FETCH above has finished: IMAP answers one command at a time.
    for (const message of fresh) this.seen.set(message.uid, await this.read(message));
    return [...this.seen.values()].sort((a, b) => a.uid - b.uid);
  }

  /**
   * Waits until at least `count` messages match, and returns all that do; throws after `timeoutMs`
   * with the subjects it did see.
   */
  async waitFor(predicate: (message: MailMessage) => boolean, timeoutMs = 30_000, count = 1): Promise<MailMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await this.messages();
      const matching = all.filter(predicate);
      if (matching.length >= count) return matching;
      if (Date.now() > deadline) {
        throw new Error(
          `${matching.length} of ${count} expected messages within ${timeoutMs} ms; the mailbox holds: ${all.map((m) => `"${m.subject}"`).join(', ') || 'nothing'}`,
        );
      }
      await sleep(250);
    }
  }

  async close(): Promise<void> {
    await this.client.logout().catch(() => undefined);
  }

  private async read(message: FetchMessageObject): Promise<MailMessage> {
    const originalTo =
      message.headers
        ?.toString('utf8')
        .replace(/^x-original-to:\s*/i, '')
        .trim() ?? '';
    return {
      uid: message.uid,
      subject: message.envelope?.subject ?? '',
      from: addresses(message.envelope?.from),
      to: [...addresses(message.envelope?.to), ...addresses(message.envelope?.cc)],
      originalRecipient: originalTo,
      text: await this.partText(message.uid, findPart(message.bodyStructure, 'text/plain')),
      html: await this.partText(message.uid, findPart(message.bodyStructure, 'text/html')),
    };
  }

  /** A part's content, transfer encoding and charset decoded, with the wire's CRLF line ends as \n. */
  private async partText(uid: number, part: MessageStructureObject | undefined): Promise<string> {
    if (!part) return '';
    // A single-part message's body is part 1.
    const { content } = await this.client.download(String(uid), part.part ?? '1', { uid: true });
    if (!content) return '';
    const chunks: Buffer[] = [];
    for await (const chunk of content) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r\n/g, '\n');
  }
}
