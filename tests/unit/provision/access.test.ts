// Access: the sshd_config every host renders from the one source, the releases the roles accept,
// the operators' keys, and how the provisioner opens an encrypted key.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { IdentityError, publicBlobOf, resolveIdentity } from '../../../provision/connectors/identity.js';
import type { Host } from '../../../provision/inventories/schema.js';
import { bastion } from '../../../provision/roles/bastion/index.js';
import { sshdConfigSource } from '../../../provision/roles/common/files.js';
import { planSupportedRelease } from '../../../provision/roles/common/release.js';
import { renderSshdConfig, sshdForwarding } from '../../../provision/roles/common/sshd.js';
import { rolesOf } from '../../../provision/roles/index.js';
import { authorizedKey, rsaBits } from '../../../provision/validation/keys.js';

const template = readFileSync(sshdConfigSource, 'utf8');
const host = (name: string, address: string, groups: string[]): Host => ({ name, address, port: 22, groups, vars: {} });
const hosts = [
  host('bastion', '10.0.0.10', ['bastion']),
  host('web1', '10.0.1.10', ['web']),
  host('mon1', '10.0.5.10', ['monitoring']),
];
const play = { hosts };
const roles = (target: Host) => rolesOf(target, undefined);
const debian12Kex = [
  'sntrup761x25519-sha512@openssh.com',
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'diffie-hellman-group14-sha256',
];

describe('sshd_config', () => {
  it("when the host is a bastion, then it forwards (locally) to every host's SSH and the monitoring UIs, nothing else", () => {
    const forwarding = sshdForwarding(hosts[0] as Host, play, roles);
    assert.deepEqual(forwarding, {
      tcpForwarding: 'local',
      permitOpen: ['10.0.0.10:22', '10.0.1.10:22', '10.0.5.10:22', '10.0.5.10:9090', '10.0.5.10:9093'],
    });
    const rendered = renderSshdConfig(template, forwarding, []);
    assert.match(rendered, /^AllowTcpForwarding local$/m);
    assert.match(
      rendered,
      /^PermitOpen 10\.0\.0\.10:22 10\.0\.1\.10:22 10\.0\.5\.10:22 10\.0\.5\.10:9090 10\.0\.5\.10:9093$/m,
    );
  });

  it('when the host is not a bastion, then it forwards nothing', () => {
    const rendered = renderSshdConfig(template, sshdForwarding(hosts[1] as Host, play, roles), []);
    assert.match(rendered, /^AllowTcpForwarding no$/m);
    assert.match(rendered, /^PermitOpen none$/m);
    assert.doesNotMatch(rendered, /\$\{/);
  });

  it("when the host's OpenSSH lacks some key exchanges (Debian 12), then the line keeps the others in the source's order", () => {
    const rendered = renderSshdConfig(template, { tcpForwarding: 'no', permitOpen: 'none' }, debian12Kex);
    assert.match(
      rendered,
      /^KexAlgorithms sntrup761x25519-sha512@openssh\.com,curve25519-sha256,curve25519-sha256@libssh\.org$/m,
    );
    assert.throws(
      () => renderSshdConfig(template, { tcpForwarding: 'no', permitOpen: 'none' }, ['diffie-hellman-group1-sha1']),
      /implements none of the key exchanges/,
    );
  });

  it('when rendered, then it meets the baseline: two tries, no compression, no Debian banner, RSA of 3072 bits at least, jump users without a shell', () => {
    for (const line of [
      'MaxAuthTries 2',
      'Compression no',
      'DebianBanner no',
      'RequiredRSASize 3072',
      'PermitRootLogin no',
      'PasswordAuthentication no',
      'X11Forwarding no',
      'AllowAgentForwarding no',
      'PermitTunnel no',
      'Match Group ssh-jump',
      '    ForceCommand /usr/sbin/nologin',
    ]) {
      assert.ok(template.split('\n').includes(line), line);
    }
  });
});

describe('supported releases', () => {
  const release = (versionId: string | null, codename: string | null, id = 'debian') => ({
    id,
    versionId,
    codename,
    prettyName: `Debian GNU/Linux ${versionId ?? 'sid'} (${codename ?? 'sid'})`,
  });
  it('when the host runs Debian 12 or 13, then nothing is needed', () => {
    assert.equal(planSupportedRelease(release('12', 'bookworm')).changed, false);
    assert.match(planSupportedRelease(release('13', 'trixie')).reason, /Debian GNU\/Linux 13 \(trixie\): supported/);
  });
  it('when the host runs another release, then planning fails naming it and the supported ones', () => {
    assert.throws(
      () => planSupportedRelease(release('11', 'bullseye')),
      /runs Debian GNU\/Linux 11 \(bullseye\) \(ID=debian, VERSION_ID=11, bullseye\), which the roles do not support: supported are Debian 12 \(bookworm\), Debian 13 \(trixie\)/,
    );
    assert.throws(() => planSupportedRelease(release(null, 'forky')), /do not support/);
    assert.throws(() => planSupportedRelease(release('24.04', 'noble', 'ubuntu')), /ID=ubuntu/);
    assert.throws(() => planSupportedRelease(null), /no \/etc\/os-release/);
  });
});

describe("operators' keys", () => {
  it('when an RSA key is shorter than 3072 bits, then it is refused; longer RSA and ed25519 keys pass', () => {
    const rsa = (bits: number) => ssh2.utils.generateKeyPairSync('rsa', { bits }).public;
    assert.equal(rsaBits(Buffer.from(rsa(2048).split(' ')[1] ?? '', 'base64')), 2048);
    assert.equal(authorizedKey.safeParse(rsa(2048)).success, false);
    assert.equal(authorizedKey.safeParse(rsa(3072)).success, true);
    assert.equal(authorizedKey.safeParse(ssh2.utils.generateKeyPairSync('ed25519').public).success, true);
  });

  it('when the bastion role plans, then the jump user is in ssh-jump with no shell', () => {
    const target: Host = {
      ...(hosts[0] as Host),
      vars: { admin_authorized_keys: [ssh2.utils.generateKeyPairSync('ed25519').public] },
    };
    const tasks = bastion.tasks(target, play);
    assert.deepEqual(
      tasks[0]?.operation.plan(false).commands.map((command) => command.argv.join(' ')),
      ['groupadd --system -- ssh-jump'],
    );
    assert.deepEqual(
      tasks[1]?.operation.plan(null).commands.map((command) => command.argv.join(' ')),
      ['useradd --create-home --shell /usr/sbin/nologin --groups ssh-users,ssh-jump -- ops'],
    );
  });
});

describe("the provisioner's key", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'identity-'));
  const passphrase = 'correct horse battery staple';
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { passphrase, cipher: 'aes256-ctr', rounds: 2 });
  const encrypted = path.join(dir, 'id_ed25519');
  writeFileSync(encrypted, pair.private, { mode: 0o600 });
  const plain = path.join(dir, 'id_plain');
  writeFileSync(plain, ssh2.utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
  const file = (name: string, content: string) => {
    writeFileSync(path.join(dir, name), content, { mode: 0o600 });
    return path.join(dir, name);
  };

  it('when a key is encrypted, then its public half is read without the passphrase', () => {
    assert.deepEqual(publicBlobOf(encrypted, pair.private), Buffer.from(pair.public.split(' ')[1] ?? '', 'base64'));
  });

  it('when the key is not encrypted, then it is used as it is', async () => {
    const auth = await resolveIdentity({ identityFile: plain, identityNamed: true });
    assert.equal(auth.passphrase, undefined);
    assert.match(auth.description, /^key .*id_plain$/);
  });

  it('when the passphrase file opens the key, then it is used; when not, the error names the key and the file', async () => {
    const auth = await resolveIdentity({
      identityFile: encrypted,
      identityNamed: true,
      passphraseFile: file('pass', `${passphrase}\n`),
    });
    assert.equal(auth.passphrase, passphrase);
    await assert.rejects(
      resolveIdentity({ identityFile: encrypted, identityNamed: true, passphraseFile: file('wrong', 'nope\n') }),
      (error: unknown) => {
        assert.ok(error instanceof IdentityError);
        assert.match(error.message, /id_ed25519 is encrypted and the passphrase file .*wrong does not open it/);
        return true;
      },
    );
  });

  it('when no passphrase file is given, then the prompt is asked; without a terminal, the error says what to do', async () => {
    let asked = '';
    const auth = await resolveIdentity({
      identityFile: encrypted,
      identityNamed: true,
      prompt: (question) => ((asked = question), Promise.resolve(passphrase)),
    });
    assert.equal(auth.passphrase, passphrase);
    assert.match(asked, /^Enter passphrase for .*id_ed25519: $/);
    await assert.rejects(
      resolveIdentity({ identityFile: encrypted, identityNamed: true }),
      /is encrypted: give its passphrase with --passphrase-file .*ssh-add it to an ssh-agent/,
    );
  });

  it('when asked on a terminal, then the passphrase is read and never echoed', async () => {
    // script(1) gives the CLI a pseudo-terminal, as an operator's shell does; the answer is typed into it.
    const probe = path.join(dir, 'prompt.mts');
    writeFileSync(
      probe,
      `import { promptHidden } from ${JSON.stringify(new URL('../../../provision/connectors/identity.ts', import.meta.url).href)};\nprocess.stdout.write(\`got [\${await promptHidden('Passphrase: ')}]\\n\`);\n`,
    );
    const typed = 's3cret words';
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        'script',
        ['-qec', `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(probe)}`, '/dev/null'],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('Passphrase: ')) child.stdin.end(`${typed}\n`);
      });
      child.on('error', reject).on('close', () => resolve(text));
    });
    assert.match(output, /got \[s3cret words\]/);
    assert.equal(output.split(typed).length - 1, 1, `the passphrase was echoed: ${output}`);
  });

  it('when no key is at a named path, then it says so', async () => {
    await assert.rejects(
      resolveIdentity({ identityFile: path.join(dir, 'absent'), identityNamed: true }),
      /no private key at .*absent/,
    );
  });
});
