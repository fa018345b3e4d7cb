import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { KnownHosts, knownHostsName } from '../../../provision/connectors/known-hosts.js';
import { commandLine, quote } from '../../../provision/core/shell.js';
import { preferredHostKeyAlgorithms } from '../../../provision/connectors/ssh.js';

/** An SSH public key blob: string type, then key bytes. */
function blob(type: string, key: Buffer): Buffer {
  const typeBytes = Buffer.from(type);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(typeBytes.length);
  const keyLength = Buffer.alloc(4);
  keyLength.writeUInt32BE(key.length);
  return Buffer.concat([header, typeBytes, keyLength, key]);
}

describe('shell quoting', () => {
  const rows: [string, string][] = [
    ['plain-word_1.2/x:y=z@%+,', 'plain-word_1.2/x:y=z@%+,'],
    ['two words', "'two words'"],
    ["it's", "'it'\\''s'"],
    ['$(reboot)', "'$(reboot)'"],
    ['a;b|c&d`e`', "'a;b|c&d`e`'"],
    ['', "''"],
    ['line\nbreak', "'line\nbreak'"],
  ];
  for (const [argument, quoted] of rows) {
    it(`when the argument is ${JSON.stringify(argument)}, then it is one word: ${quoted}`, () =>
      assert.equal(quote(argument), quoted));
  }
  it('when a vector is quoted, then each argument stays one word and NUL is refused', () => {
    assert.equal(commandLine(['sh', '-c', 'echo "$1"', 'sh', 'x y']), "sh -c 'echo \"$1\"' sh 'x y'");
    assert.throws(() => quote('a\0b'), /NUL/);
  });
});

describe('known_hosts', () => {
  const key = blob('ssh-ed25519', randomBytes(32));
  const other = blob('ssh-ed25519', randomBytes(32));

  it('when a host is absent, then it is unknown until pinned, then known; a different key is changed', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'known-hosts-')), 'known_hosts');
    const knownHosts = new KnownHosts(file);
    const name = knownHostsName('127.0.0.1', 2222);
    assert.equal(name, '[127.0.0.1]:2222');
    assert.equal(knownHosts.verdict(name, key), 'unknown');
    knownHosts.pin(name, key);
    assert.equal(readFileSync(file, 'utf8'), `[127.0.0.1]:2222 ssh-ed25519 ${key.subarray(0).toString('base64')}\n`);
    const reloaded = new KnownHosts(file);
    assert.equal(reloaded.verdict(name, key), 'known');
    assert.equal(reloaded.verdict(name, other), 'changed');
    assert.equal(reloaded.verdict(knownHostsName('127.0.0.1', 22), key), 'unknown');
  });

  it('when a known host presents a key of another type than its pinned ones, then it is changed, never unknown', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'known-hosts-')), 'known_hosts');
    writeFileSync(file, `10.0.1.10 ssh-ed25519 ${key.toString('base64')}\n`);
    const knownHosts = new KnownHosts(file);
    const impostor = blob('ecdsa-sha2-nistp256', randomBytes(65));
    assert.equal(knownHosts.verdict('10.0.1.10', impostor), 'changed');
    assert.equal(knownHosts.verdict('10.0.1.10', blob('ssh-rsa', randomBytes(64))), 'changed');
    assert.equal(knownHosts.verdict('10.0.1.11', impostor), 'unknown');
    assert.deepEqual(knownHosts.pinnedTypes('10.0.1.10'), ['ssh-ed25519']);
    assert.deepEqual(knownHosts.pinnedTypes('10.0.1.11'), []);
  });

  it('when a host has pinned key types, then the connector asks for those first (no SHA-1 RSA)', () => {
    assert.deepEqual(preferredHostKeyAlgorithms(['ecdsa-sha2-nistp256']).slice(0, 2), [
      'ecdsa-sha2-nistp256',
      'ssh-ed25519',
    ]);
    assert.deepEqual(preferredHostKeyAlgorithms(['ssh-rsa']).slice(0, 3), [
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-ed25519',
    ]);
    assert.deepEqual(preferredHostKeyAlgorithms([]), [
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
      'ecdsa-sha2-nistp384',
      'ecdsa-sha2-nistp521',
      'rsa-sha2-512',
      'rsa-sha2-256',
    ]);
  });

  it('when entries are hashed or use patterns, then they match as OpenSSH matches them', () => {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('10.0.1.10').digest('base64');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'known-hosts-')), 'known_hosts');
    writeFileSync(
      file,
      `# comment\n|1|${salt.toString('base64')}|${hash} ssh-ed25519 ${key.toString('base64')}\n10.0.2.*,!10.0.2.9 ssh-ed25519 ${other.toString('base64')}\n`,
    );
    const knownHosts = new KnownHosts(file);
    assert.equal(knownHosts.verdict('10.0.1.10', key), 'known');
    assert.equal(knownHosts.verdict('10.0.1.11', key), 'unknown');
    assert.equal(knownHosts.verdict('10.0.2.3', other), 'known');
    assert.equal(knownHosts.verdict('10.0.2.9', other), 'unknown');
  });
});
