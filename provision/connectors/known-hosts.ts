import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type HostKeyVerdict = 'known' | 'unknown' | 'changed';

interface Entry {
  matches: (host: string) => boolean;
  type: string;
  key: string;
}

/** The name OpenSSH files a host under: "host" on port 22, "[host]:port" elsewhere. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** "SHA256:…" as ssh-keygen -l prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type an SSH public key blob starts with ("ssh-ed25519"). */
export function keyType(keyBlob: Buffer): string {
  const length = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + length).toString('ascii');
}

function patternMatcher(field: string): (host: string) => boolean {
  if (field.startsWith('|1|')) {
    // Hashed: |1|base64(salt)|base64(HMAC-SHA1(salt, name)).
    const [, , salt = '', hash = ''] = field.split('|');
    return (host) => createHmac('sha1', Buffer.from(salt, 'base64')).update(host).digest('base64') === hash;
  }
  const patterns = field.split(',');
  const toRegExp = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replaceAll('*', '.*')
        .replaceAll('?', '.')}$`,
    );
  const positive = patterns.filter((p) => !p.startsWith('!')).map(toRegExp);
  const negative = patterns.filter((p) => p.startsWith('!')).map((p) => toRegExp(p.slice(1)));
  return (host) => !negative.some((re) => re.test(host)) && positive.some((re) => re.test(host));
}

/**
 * A known_hosts file (OpenSSH's format, hashed names included). A host whose name is not in it at all
 * is "unknown"; a host filed with any key is "known" only with one of its pinned keys, and "changed"
 * with any other, whatever its type: a man in the middle offering an ECDSA or RSA key for a host
 * pinned by its ed25519 key must be refused, not pinned as new. Pinning appends a line, only when the
 * caller asks for it.
 */
export class KnownHosts {
  private readonly entries: Entry[] = [];

  constructor(readonly file: string) {
    if (!existsSync(file)) return;
    for (const raw of readFileSync(file, 'utf8').split('\n')) {
      const line = raw.trim();
      // @cert-authority and @revoked lines are not supported: skipping them never accepts a key.
      if (!line || line.startsWith('#') || line.startsWith('@')) continue;
      const [hosts, type, key] = line.split(/\s+/);
      if (hosts && type && key) this.entries.push({ matches: patternMatcher(hosts), type, key });
    }
  }

  verdict(name: string, keyBlob: Buffer): HostKeyVerdict {
    const type = keyType(keyBlob);
    const key = keyBlob.toString('base64');
    const filed = this.entries.filter((entry) => entry.matches(name));
    if (filed.some((entry) => entry.type === type && entry.key === key)) return 'known';
    return filed.length > 0 ? 'changed' : 'unknown';
  }

  /**
   * The key types pinned for a host, in file order: the connector asks the server for these first
   * (as OpenSSH orders HostKeyAlgorithms by known_hosts), so a genuine host that also has other keys
   * presents the pinned one and is not mistaken for a changed one.
   */
  pinnedTypes(name: string): string[] {
    return [...new Set(this.entries.filter((entry) => entry.matches(name)).map((entry) => entry.type))];
  }

  pin(name: string, keyBlob: Buffer): void {
    const type = keyType(keyBlob);
    const key = keyBlob.toString('base64');
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    appendFileSync(this.file, `${name} ${type} ${key}\n`, { mode: 0o600 });
    this.entries.push({ matches: (host) => host === name, type, key });
  }
}
