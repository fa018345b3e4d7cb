import { existsSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createInterface } from 'node:readline/promises';
import ssh2, { type IdentityCallback, type KnownPublicKeys, type ParsedKey } from 'ssh2';

// ssh2 is CommonJS: its classes are read from the default export.
const { OpenSSHAgent } = ssh2;

/** How the provisioner proves who it is: a decrypted key, an ssh-agent, or both (the key first). */
export interface SshAuth {
  /** The private key's text (OpenSSH or PEM), with its passphrase when it is encrypted. */
  privateKey?: string;
  passphrase?: string;
  /** ssh-agent (SSH_AUTH_SOCK): restricted to the identity's public key when one was named. */
  agent?: InstanceType<typeof OpenSSHAgent>;
  /** For progress and errors: "key ~/.ssh/id_ed25519 (from ssh-agent)". */
  description: string;
}

export interface IdentityOptions {
  /** The private key file (--identity, PROVISION_SSH_KEY, else ~/.ssh/id_ed25519). */
  identityFile: string;
  /** Whether it was named (option or environment) rather than the default path. */
  identityNamed: boolean;
  /** A file holding the key's passphrase (--passphrase-file, PROVISION_SSH_PASSPHRASE_FILE). */
  passphraseFile?: string | undefined;
  /** ssh-agent's socket (SSH_AUTH_SOCK). */
  agentSocket?: string | undefined;
  /** Asks for the passphrase without echo; absent when nobody can answer (no terminal). */
  prompt?: ((question: string) => Promise<string>) | undefined;
}

/** A key that cannot be used: missing, unreadable, encrypted without a passphrase, or a wrong one. */
export class IdentityError extends Error {
  override name = 'IdentityError';
}

const encryptedHint = /encrypted|passphrase/i;

/**
 * The public key blob of a private key file without decrypting it: OpenSSH's own format keeps the
 * public key in clear ("openssh-key-v1", cipher, kdf, kdf options, count, public key); a PEM key's
 * comes from the `.pub` beside it, as ssh does. Null when neither says.
 */
export function publicBlobOf(file: string, text: string): Buffer | null {
  const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)?.[1];
  if (body) {
    const data = Buffer.from(body.replace(/\s+/g, ''), 'base64');
    const magic = 'openssh-key-v1\0';
    if (data.subarray(0, magic.length).toString('latin1') === magic) {
      let offset = magic.length;
      const string = () => {
        const length = data.readUInt32BE(offset);
        const value = data.subarray(offset + 4, offset + 4 + length);
        offset += 4 + length;
        return value;
      };
      string(); // cipher
      string(); // kdf
      string(); // kdf options
      offset += 4; // number of keys (always 1)
      return Buffer.from(string());
    }
  }
  const pub = `${file}.pub`;
  if (!existsSync(pub)) return null;
  const [, key] = readFileSync(pub, 'utf8').trim().split(/\s+/);
  return key ? Buffer.from(key, 'base64') : null;
}

type AgentKey = KnownPublicKeys<ParsedKey>[number];

/** An agent key's public blob (OpenSSHAgent gives parsed keys). */
type KeyLike = ParsedKey | Buffer | string | { pubKey: KeyLike };
function blobOf(key: KeyLike): Buffer {
  if (Buffer.isBuffer(key)) return key;
  if (typeof key === 'string') return Buffer.from(key.split(/\s+/)[1] ?? '', 'base64');
  if ('pubKey' in key) return blobOf(key.pubKey);
  return key.getPublicSSH();
}

/** ssh-agent, offering only the one key the operator named (MaxAuthTries is 2: a full agent would exhaust it). */
class OneKeyAgent extends OpenSSHAgent {
  constructor(
    socketPath: string,
    private readonly wanted: Buffer,
  ) {
    super(socketPath);
  }

  override getIdentities(cb: IdentityCallback<ParsedKey>): void {
    super.getIdentities((error, keys) => {
      if (error) return cb(error);
      cb(
        undefined,
        (keys ?? []).filter((key) => blobOf(key).equals(this.wanted)),
      );
    });
  }
}

/** The public keys the agent holds (empty when it holds none); an unreachable agent is an IdentityError. */
function agentKeys(socket: string): Promise<AgentKey[]> {
  return new Promise((resolve, reject) => {
    new OpenSSHAgent(socket).getIdentities((error, keys) => {
      if (error) reject(new IdentityError(`ssh-agent at SSH_AUTH_SOCK=${socket} does not answer: ${error.message}`));
      else resolve(keys ?? []);
    });
  });
}

function readPassphraseFile(file: string): string {
  try {
    // As ssh-add and ansible-vault read theirs: the first line, without its end.
    return readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '';
  } catch (error) {
    throw new IdentityError(`cannot read the passphrase file ${file}: ${(error as Error).message}`);
  }
}

/**
 * How to authenticate, decided once before anything connects (so a wrong passphrase stops the run
 * with nothing touched):
 * - an unencrypted key: that key only;
 * - an encrypted key whose public half the agent holds: the agent, offering that key only (ssh's own
 *   behaviour: no passphrase needed);
 * - an encrypted key otherwise: its passphrase, from the file, else asked on the terminal; checked here;
 * - no key file (the default path, not named) but an agent: every key of the agent.
 * The passphrase never comes from argv.
 */
export async function resolveIdentity(options: IdentityOptions): Promise<SshAuth> {
  const { identityFile: file, agentSocket: socket } = options;
  if (!existsSync(file)) {
    if (!options.identityNamed && socket) {
      const keys = await agentKeys(socket);
      if (keys.length === 0)
        throw new IdentityError(
          `no private key at ${file} and ssh-agent (SSH_AUTH_SOCK=${socket}) holds none: ssh-add one, or name one with --identity`,
        );
      return {
        agent: new OpenSSHAgent(socket),
        description: `ssh-agent (${keys.length} key${keys.length === 1 ? '' : 's'})`,
      };
    }
    throw new IdentityError(
      `no private key at ${file} (--identity or PROVISION_SSH_KEY${socket ? '' : ', or an ssh-agent in SSH_AUTH_SOCK'})`,
    );
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new IdentityError(`cannot read the private key ${file}: ${(error as Error).message}`);
  }
  const plain = ssh2.utils.parseKey(text);
  if (!(plain instanceof Error)) return { privateKey: text, description: `key ${file}` };
  if (!encryptedHint.test(plain.message))
    throw new IdentityError(`${file} is not a private key ssh2 can read: ${plain.message}`);

  const blob = publicBlobOf(file, text);
  if (socket && blob) {
    const keys = await agentKeys(socket);
    if (keys.some((key) => blobOf(key).equals(blob)))
      return { agent: new OneKeyAgent(socket, blob), description: `key ${file} (from ssh-agent)` };
  }
  let passphrase: string;
  let from: string;
  if (options.passphraseFile !== undefined) {
    passphrase = readPassphraseFile(options.passphraseFile);
    from = `the passphrase file ${options.passphraseFile}`;
  } else if (options.prompt) {
    passphrase = await options.prompt(`Enter passphrase for ${file}: `);
    from = 'the passphrase entered';
  } else {
    throw new IdentityError(
      `${file} is encrypted: give its passphrase with --passphrase-file (or PROVISION_SSH_PASSPHRASE_FILE), run from a terminal to be asked, or ssh-add it to an ssh-agent (SSH_AUTH_SOCK)`,
    );
  }
  const decrypted = ssh2.utils.parseKey(text, passphrase);
  if (decrypted instanceof Error)
    throw new IdentityError(`${file} is encrypted and ${from} does not open it (${decrypted.message})`);
  return { privateKey: text, passphrase, description: `key ${file} (encrypted)` };
}

/** Asks on the terminal without echoing the answer (the prompt goes to stderr: stdout may carry --json). */
export async function promptHidden(question: string): Promise<string> {
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const reader = createInterface({ input: process.stdin, output: muted, terminal: true });
  process.stderr.write(question);
  try {
    return await reader.question('');
  } finally {
    reader.close();
    process.stderr.write('\n');
  }
}
