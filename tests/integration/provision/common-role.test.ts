// The common role, Molecule-style, in the provisioning lab: a bastion on a public and an internal
// network, three EC2-like hosts (systemd, OpenSSH, sudo; host3 on Debian 12, the others on 13: every
// supported release) on the internal one, which reaches the Debian mirror only through the lab's apt
// proxy. The CLI runs as an operator runs it, through the bastion,
// and the hosts are checked from what a user can observe.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import ssh2, { type Client } from 'ssh2';
import { parse, stringify } from 'yaml';
import type { HostRecap } from '../../../provision/core/runner.js';
import { repoRoot } from '../../support/paths.js';
import { startProvisionLab, type ProvisionRun, type StartedProvisionLab } from '../../support/provision-lab.js';
import { sshAudit } from '../../support/ssh-audit.js';

const run = promisify(execFile);
const password = randomBytes(12).toString('base64url');
const hostNames = ['host1', 'host2', 'host3'] as const;
/** The machines the role converges: the hosts, and the bastion itself. */
const machines = ['bastion', ...hostNames] as const;
let lab: StartedProvisionLab;
/** A test body that writes the machines' logs and journals to stderr when it fails. */
const logged = (body: () => Promise<void>) => () => lab.logOnFailure(body)();

function recapOf(result: ProvisionRun, host: string): HostRecap {
  const recap = result.recap.hosts.find((candidate) => candidate.host === host);
  assert.ok(recap, `no recap for ${host}:\n${result.stderr}`);
  return recap;
}

function taskOf(recap: HostRecap, name: RegExp) {
  const task = recap.tasks.find((candidate) => name.test(candidate.task));
  assert.ok(
    task,
    `${recap.host}: no task ${String(name)} in ${recap.tasks.map((candidate) => candidate.task).join(' | ')}`,
  );
  return task;
}

/** Every task that did not report ok, with its reason and diff: an empty list is a converged run. */
const changes = (result: ProvisionRun) =>
  result.recap.hosts.flatMap((recap) =>
    recap.tasks
      .filter((task) => task.status !== 'ok')
      .map((task) => `${task.host} ${task.task}: ${task.reason}\n${task.diff ?? ''}`),
  );

function connected(client: Client, config: ssh2.ConnectConfig): Promise<Client> {
  return new Promise((resolve, reject) => {
    client
      .once('ready', () => resolve(client))
      .once('error', reject)
      .connect({ readyTimeout: 15_000, ...config });
  });
}

/** Tries a password login on a private host through the bastion (the key opens the bastion). */
async function passwordLogin(host: string): Promise<'accepted' | 'refused'> {
  const jump = await connected(new ssh2.Client(), {
    ...lab.bastionEndpoint,
    username: 'admin',
    privateKey: readFileSync(lab.identityFile),
  });
  try {
    const channel = await new Promise<ssh2.ClientChannel>((resolve, reject) => {
      jump.forwardOut('127.0.0.1', 0, lab.address(host), 22, (error, stream) =>
        error ? reject(error) : resolve(stream),
      );
    });
    try {
      const session = await connected(new ssh2.Client(), {
        sock: channel,
        username: 'admin',
        password,
        tryKeyboard: true,
      });
      session.end();
      return 'accepted';
    } catch (error) {
      // Refused, or cut off once the tries are spent (MaxAuthTries 2: password, then keyboard-interactive).
      if (
        (error as { level?: string }).level === 'client-authentication' ||
        /Too many authentication failures/.test((error as Error).message)
      )
        return 'refused';
      throw error;
    }
  } finally {
    jump.end();
  }
}

/** Whether `from` opens a TCP connection to `to`:port within 3 s (a dropped SYN never answers). */
async function reaches(from: string, to: string, port: number): Promise<boolean> {
  const { exitCode } = await lab.exec(from, [
    'timeout',
    '3',
    'bash',
    '-c',
    'exec 3<>"/dev/tcp/$0/$1"',
    lab.address(to),
    String(port),
  ]);
  return exitCode === 0;
}

/** A known_hosts with the bastion's keys only: the hosts' are unknown to it. */
function bastionOnlyKnownHosts(name: string): string {
  const bastionAddress = lab.address('bastion');
  const { host, port } = lab.bastionEndpoint;
  const lines = readFileSync(lab.knownHostsFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith(`[${host}]:${port} `) || line.startsWith(`${bastionAddress} `));
  const file = path.join(path.dirname(lab.knownHostsFile), name);
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

before(async () => {
  lab = await startProvisionLab({
    hosts: {
      host1: { groups: ['ec2'] },
      host2: { groups: ['ec2', 'monitoring'] },
      host3: { groups: ['ec2'], release: 'bookworm' },
    },
  });
  // A fresh machine whose admin also has a password: the role must make sshd refuse it.
  for (const name of hostNames) {
    const { exitCode, output } = await lab.exec(name, ['sh', '-c', 'echo "admin:$0" | chpasswd', password]);
    assert.equal(exitCode, 0, output);
  }
  // In the inventory, with no machine behind it.
  const inventory = parse(readFileSync(lab.inventoryFile, 'utf8')) as { hosts: Record<string, unknown> };
  inventory.hosts.ghost = { address: 'ghost.invalid', groups: ['ec2'] };
  writeFileSync(lab.inventoryFile, stringify(inventory, { lineWidth: 0 }));
});

after(async () => {
  await lab.stop();
});

// --tags common: host2 is in the monitoring group for the firewall's sake, not to run that role here.
describe('provisioning the common role through the bastion', () => {
  it('when the hosts are fresh, then sshd still accepts the password (the baseline the role changes)', async () => {
    assert.equal(await passwordLogin('host1'), 'accepted');
  });

  it('when a host key is not pinned and no trust is given, then nothing connects and the key is named', async () => {
    const result = await lab.provision([
      '--limit',
      'host1',
      '--tags',
      'common',
      '--known-hosts',
      bastionOnlyKnownHosts('known_hosts.refused'),
    ]);
    assert.equal(result.code, 2);
    const recap = recapOf(result, 'host1');
    assert.equal(recap.error?.kind, 'host-key', JSON.stringify(recap));
    assert.match(
      recap.error.message,
      new RegExp(
        `^host1: the host key of ${lab.address('host1').replaceAll('.', '\\.')} .* is not in .*known_hosts.*--trust-new-host-keys`,
      ),
    );
    assert.equal(recap.tasks.length, 0);
  });

  it('when --check runs on fresh hosts with --trust-new-host-keys, then it pins their real keys, reports the would-be changes and changes nothing', async () => {
    const before = await lab.exec('host1', ['sha256sum', '/etc/ssh/sshd_config']);
    const knownHosts = bastionOnlyKnownHosts('known_hosts.pinned');
    const result = await lab.provision([
      '--check',
      '--diff',
      '--tags',
      'common',
      '--limit',
      hostNames.join(','),
      '--trust-new-host-keys',
      '--known-hosts',
      knownHosts,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /pinned the new host key of \S+: SHA256:/);
    // What --trust-new-host-keys pinned is what the machines have (the lab read it out of band).
    const pinned = readFileSync(knownHosts, 'utf8');
    for (const name of hostNames) {
      const expected = readFileSync(lab.knownHostsFile, 'utf8')
        .split('\n')
        .find((line) => line.startsWith(`${lab.address(name)} `));
      assert.ok(expected && pinned.includes(expected), `${name}: pinned ${pinned}`);
    }
    for (const name of hostNames) {
      const recap = recapOf(result, name);
      assert.equal(recap.failed, 0, JSON.stringify(recap));
      assert.ok(recap.changed >= 8, `${name}: ${recap.changed} would-be changes`);
      const sshd = taskOf(recap, /^Render sshd_config/);
      assert.equal(sshd.status, 'changed');
      assert.match(sshd.diff ?? '', /^\+PasswordAuthentication no$/m);
      const firewall = taskOf(recap, /^Render the firewall/);
      assert.equal(firewall.status, 'changed');
      assert.match(
        firewall.diff ?? '',
        /^\+\t\tip saddr \S+ tcp dport 22 accept comment "common: SSH, from the bastion only"$/m,
      );
      assert.match(taskOf(recap, /^Install the baseline/).reason, /install nftables, prometheus-node-exporter/);
      assert.deepEqual([...recap.handlers].sort(), ['reload nftables', 'reload sshd', 'restart chrony']);
    }
    assert.deepEqual(await lab.exec('host1', ['sha256sum', '/etc/ssh/sshd_config']), before);
    assert.notEqual((await lab.exec('host1', ['getent', 'group', 'ssh-users'])).exitCode, 0, 'no group created');
    assert.notEqual(
      (await lab.exec('host1', ['test', '-e', '/etc/ssh/host_keys'])).exitCode,
      0,
      'no directory created',
    );
    assert.notEqual(
      (await lab.exec('host1', ['test', '-e', '/etc/apt/apt.conf.d/01refereezy-proxy'])).exitCode,
      0,
      'no apt proxy set',
    );
    assert.notEqual((await lab.exec('host1', ['dpkg-query', '--show', 'nftables'])).exitCode, 0, 'nothing installed');
  });

  it(
    'when a pinned host presents a key of another type (a man in the middle with an ECDSA key), then it is refused as changed, even with --trust-new-host-keys, and nothing is pinned',
    logged(async () => {
      // host1's sshd offers only its ECDSA key, as an impostor that never had the ed25519 one would.
      const dropIn = '/etc/ssh/sshd_config.d/00-impostor.conf';
      assert.equal(
        (
          await lab.exec('host1', [
            'sh',
            '-c',
            'printf "HostKeyAlgorithms ecdsa-sha2-nistp256\\n" >"$0" && systemctl reload ssh.service',
            dropIn,
          ])
        ).exitCode,
        0,
      );
      try {
        const knownHosts = path.join(path.dirname(lab.knownHostsFile), 'known_hosts.impostor');
        writeFileSync(knownHosts, readFileSync(lab.knownHostsFile, 'utf8'), { mode: 0o600 });
        const result = await lab.provision([
          '--check',
          '--limit',
          'host1',
          '--tags',
          'common',
          '--trust-new-host-keys',
          '--known-hosts',
          knownHosts,
        ]);
        assert.equal(result.code, 2, result.stderr);
        const recap = recapOf(result, 'host1');
        assert.equal(recap.error?.kind, 'host-key', JSON.stringify(recap));
        assert.match(recap.error.message, /differs from the one pinned .*refusing to connect/);
        assert.doesNotMatch(result.stderr, /pinned the new host key/);
        assert.equal(
          readFileSync(knownHosts, 'utf8'),
          readFileSync(lab.knownHostsFile, 'utf8'),
          'known_hosts was changed',
        );
      } finally {
        assert.equal(
          (await lab.exec('host1', ['sh', '-c', 'rm -f "$0" && systemctl reload ssh.service', dropIn])).exitCode,
          0,
        );
      }
    }),
  );

  it(
    'when converged from scratch with a host that does not exist, then the machines change and the missing one is unreachable',
    logged(async () => {
      const result = await lab.provision(['--diff', '--tags', 'common']);
      assert.equal(result.code, 2, 'an unreachable host fails the run');
      for (const name of machines) {
        const recap = recapOf(result, name);
        assert.equal(recap.status, 'changed', `${name}: ${JSON.stringify(recap.error)}\n${result.stderr}`);
        assert.equal(recap.failed, 0);
        for (const handler of ['reload sshd', 'reload nftables']) {
          assert.equal(taskOf(recap, new RegExp(`^handler: ${handler}$`)).status, 'changed', `${name}: ${handler}`);
        }
        assert.equal(taskOf(recap, /^Install OpenSSH and sudo$/).status, 'ok', 'the image has them: nothing to fetch');
        // From the internal network, the mirror is only reachable through the apt proxy.
        assert.equal(taskOf(recap, /^Install the baseline/).status, 'changed');
        // The lab created the machines with the role's values: the file is written, nothing at runtime.
        const sysctl = taskOf(recap, /^Harden the network stack/);
        assert.equal(sysctl.commands.length, 1, sysctl.reason);
        assert.match(
          sysctl.commands[0] ?? '',
          / write \/etc\/sysctl\.d\/60-refereezy-hardening\.conf 0644 root root \d+$/,
          'one atomic write of the file',
        );
      }
      const ghost = recapOf(result, 'ghost');
      assert.equal(ghost.status, 'unreachable');
      assert.equal(ghost.error?.kind, 'network');
      assert.match(ghost.error.message, /^ghost: the bastion cannot reach/);
    }),
  );

  it(
    'when converged again, then nothing changes (any change is printed with its diff)',
    logged(async () => {
      const result = await lab.provision(['--tags', 'common', '--limit', machines.join(',')]);
      assert.deepEqual(changes(result), []);
      assert.equal(result.code, 0);
      for (const name of machines) assert.equal(recapOf(result, name).changed, 0);
    }),
  );

  it('when converged, then sshd runs the shared sshd_config and refuses password logins', async () => {
    for (const name of hostNames) {
      assert.equal((await lab.exec(name, ['systemctl', 'is-active', 'ssh.service'])).output.trim(), 'active');
      const effective = (await lab.exec(name, ['sshd', '-T'])).output;
      assert.match(effective, /^passwordauthentication no$/m);
      assert.match(effective, /^permitrootlogin no$/m);
      assert.equal((await lab.exec(name, ['id', '-nG', 'admin'])).output.trim().split(' ').includes('ssh-users'), true);
    }
    assert.equal(await passwordLogin('host1'), 'refused');
    assert.equal(await passwordLogin('host2'), 'refused');
  });

  it('when converged, then every sshd meets the hardened baseline on each release, and forwards only where it is a bastion', async () => {
    for (const name of machines) {
      const effective = (await lab.exec(name, ['sshd', '-T'])).output;
      for (const setting of [
        'maxauthtries 2',
        'compression no',
        'x11forwarding no',
        'allowagentforwarding no',
        'permittunnel no',
        'permituserenvironment no',
        'requiredrsasize 3072',
        'hostbasedauthentication no',
      ]) {
        assert.match(effective, new RegExp(`^${setting}$`, 'm'), `${name}: ${setting}`);
      }
      assert.equal(
        (await lab.exec(name, ['stat', '-c', '%U:%G %a', '/etc/ssh/sshd_config'])).output.trim(),
        'root:root 600',
        name,
      );
      assert.notEqual(
        (await lab.exec(name, ['test', '-e', '/etc/ssh/sshd_config.refereezy-new'])).exitCode,
        0,
        `${name}: a temporary sshd_config was left`,
      );
      if (name === 'bastion') {
        assert.match(effective, /^allowtcpforwarding local$/m);
        const permitOpen = (/^permitopen (.*)$/m.exec(effective)?.[1] ?? '').split(' ');
        for (const host of hostNames)
          assert.ok(
            permitOpen.includes(`${lab.address(host)}:22`),
            `bastion: ${host}:22 not in ${permitOpen.join(' ')}`,
          );
        // host2 is a monitoring host: its UIs are the operators', through the bastion.
        assert.ok(
          permitOpen.includes(`${lab.address('host2')}:9090`) && permitOpen.includes(`${lab.address('host2')}:9093`),
          permitOpen.join(' '),
        );
        assert.ok(!permitOpen.includes(`${lab.address('host1')}:9100`), permitOpen.join(' '));
      } else {
        assert.match(effective, /^allowtcpforwarding no$/m, name);
        assert.match(effective, /^permitopen none$/m, name);
      }
    }
    // Debian 12's OpenSSH 9.2 has no ML-KEM: the one source is cut to what it implements.
    const host3Kex = /^kexalgorithms (.*)$/m.exec((await lab.exec('host3', ['sshd', '-T'])).output)?.[1] ?? '';
    assert.ok(
      !host3Kex.includes('mlkem') && host3Kex.endsWith('curve25519-sha256,curve25519-sha256@libssh.org'),
      host3Kex,
    );
    assert.match((await lab.exec('host1', ['sshd', '-T'])).output, /^kexalgorithms mlkem768x25519-sha256,/m);
    for (const [name, version] of [
      ['host1', '10'],
      ['host3', '9'],
    ] as const) {
      const banner = await lab.exec('bastion', [
        'timeout',
        '5',
        'bash',
        '-c',
        'exec 3<>"/dev/tcp/$0/22"; head -n1 <&3',
        lab.address(name),
      ]);
      // DebianBanner no: "SSH-2.0-OpenSSH_10.0p2", not "… Debian-7".
      assert.match(
        banner.output,
        new RegExp(`^SSH-2\\.0-OpenSSH_${version}\\.\\dp\\d\r?$`, 'm'),
        `${name}: ${banner.output}`,
      );
    }
  });

  it("when an operator jumps, then the bastion opens the hosts' SSH only, and a host forwards nothing", async () => {
    const jump = await connected(new ssh2.Client(), {
      ...lab.bastionEndpoint,
      username: 'admin',
      privateKey: readFileSync(lab.identityFile),
    });
    const forward = (client: Client, host: string, port: number) =>
      new Promise<string>((resolve) => {
        client.forwardOut('127.0.0.1', 0, lab.address(host), port, (error, stream) => {
          // SSH_OPEN_ADMINISTRATIVELY_PROHIBITED (1): sshd's refusal, before any connection is tried.
          if (error) return resolve((error as Error & { reason?: number }).reason === 1 ? 'prohibited' : error.message);
          stream.destroy();
          resolve('opened');
        });
      });
    try {
      assert.equal(await forward(jump, 'host1', 22), 'opened');
      assert.equal(await forward(jump, 'host1', 9100), 'prohibited', 'bastion → host1:9100 is not a destination');
      const channel = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
        jump.forwardOut('127.0.0.1', 0, lab.address('host1'), 22, (error, stream) =>
          error ? reject(error) : resolve(stream),
        ),
      );
      const onHost1 = await connected(new ssh2.Client(), {
        sock: channel,
        username: 'admin',
        privateKey: readFileSync(lab.identityFile),
      });
      try {
        assert.equal(await forward(onHost1, 'host2', 22), 'prohibited', 'host1 forwards to host2:22');
      } finally {
        onHost1.end();
      }
    } finally {
      jump.end();
    }
  });

  it('when ssh-audit checks the bastion (Debian 13) and host3 (Debian 12) with the hardened policy, then both pass', async () => {
    // From inside the bastion: host3 admits SSH from the bastion only. The bastion audits itself on
    // loopback, so OpenSSH 10's penalty for unauthenticated connections never hits the operators' address.
    const bastion = `container:${lab.containerName('bastion')}`;
    for (const [target, label] of [
      ['127.0.0.1', 'bastion'],
      [lab.address('host3'), 'host3'],
    ] as const) {
      const audit = await sshAudit(bastion, target, { policy: true });
      assert.equal(audit.code, 0, `${label}:\n${audit.output}`);
      assert.match(audit.output, /Result: ✔ Passed/, `${label}:\n${audit.output}`);
    }
  });

  it('when a host runs a release the roles do not support, then its run fails first, naming the host and the release, and nothing changes on it', async () => {
    const bullseye =
      'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nNAME="Debian GNU/Linux"\nVERSION_ID="11"\nVERSION="11 (bullseye)"\nVERSION_CODENAME=bullseye\nID=debian\n';
    assert.equal(
      (
        await lab.exec('host2', [
          'sh',
          '-c',
          'mv /etc/os-release /etc/os-release.lab && printf "%s" "$0" >/etc/os-release',
          bullseye,
        ])
      ).exitCode,
      0,
    );
    try {
      const result = await lab.provision(['--tags', 'common', '--limit', 'host2']);
      assert.equal(result.code, 2, result.stderr);
      const recap = recapOf(result, 'host2');
      assert.equal(recap.status, 'failed');
      assert.deepEqual(
        recap.tasks.map((task) => `${task.status} ${task.task}`),
        ['failed Check that the host runs a supported Debian release'],
      );
      assert.match(
        recap.error?.message ?? '',
        /^host2 \(common: Check that the host runs a supported Debian release\): runs Debian GNU\/Linux 11 \(bullseye\) .*supported are Debian 12 \(bookworm\), Debian 13 \(trixie\)/,
      );
    } finally {
      assert.equal((await lab.exec('host2', ['sh', '-c', 'mv /etc/os-release.lab /etc/os-release'])).exitCode, 0);
    }
  });

  describe("the operator's key: encrypted, in an ssh-agent", () => {
    const passphrase = `pass ${randomBytes(9).toString('base64url')}`;
    let encrypted: string;
    let passphraseFile: string;
    let agent: { socket: string; pid: string } | undefined;
    const check = ['--check', '--tags', 'common', '--limit', 'host1'];

    before(async () => {
      const dir = path.dirname(lab.identityFile);
      // The lab's key, encrypted in a copy: the same public key, which the hosts already admit.
      encrypted = path.join(dir, 'id_ed25519.encrypted');
      writeFileSync(encrypted, readFileSync(lab.identityFile), { mode: 0o600 });
      await run('ssh-keygen', ['-q', '-p', '-f', encrypted, '-N', passphrase]);
      passphraseFile = path.join(dir, 'passphrase');
      writeFileSync(passphraseFile, `${passphrase}\n`, { mode: 0o600 });
      const socket = path.join(dir, 'agent.sock');
      const { stdout } = await run('ssh-agent', ['-s', '-a', socket]);
      agent = { socket, pid: /SSH_AGENT_PID=(\d+)/.exec(stdout)?.[1] ?? '' };
      // ssh-add asks its passphrase through SSH_ASKPASS (no terminal here), a script that prints it from the file.
      const askpass = path.join(dir, 'askpass');
      writeFileSync(askpass, `#!/bin/sh\ncat ${JSON.stringify(passphraseFile)}\n`, { mode: 0o700 });
      await run('ssh-add', [encrypted], {
        env: {
          ...process.env,
          SSH_AUTH_SOCK: socket,
          SSH_ASKPASS: askpass,
          SSH_ASKPASS_REQUIRE: 'force',
          DISPLAY: ':0',
        },
      });
    });

    after(() => {
      // The agent this suite started, by its pid.
      if (agent?.pid) process.kill(Number(agent.pid));
    });

    it('when the key is encrypted and its passphrase file is given, then the run connects (MaxAuthTries 2 included)', async () => {
      const result = await lab.provision([...check, '--identity', encrypted, '--passphrase-file', passphraseFile], {
        env: { SSH_AUTH_SOCK: undefined },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /with key \S+id_ed25519\.encrypted \(encrypted\)/);
    });

    it('when the passphrase is wrong or missing, then nothing connects and the message says what to do', async () => {
      const wrongFile = path.join(path.dirname(passphraseFile), 'wrong');
      writeFileSync(wrongFile, 'not it\n', { mode: 0o600 });
      const wrong = await run(
        process.execPath,
        [
          '--import',
          'tsx',
          'provision/main.ts',
          lab.inventoryFile,
          ...check,
          '--identity',
          encrypted,
          '--passphrase-file',
          wrongFile,
        ],
        { cwd: repoRoot, env: { ...process.env, SSH_AUTH_SOCK: '' } },
      ).catch((error: unknown) => error as { code: number; stderr: string });
      assert.equal((wrong as { code: number }).code, 1);
      assert.match(
        (wrong as { stderr: string }).stderr,
        /id_ed25519\.encrypted is encrypted and the passphrase file \S+wrong does not open it/,
      );
      const missing = await run(
        process.execPath,
        ['--import', 'tsx', 'provision/main.ts', lab.inventoryFile, ...check, '--identity', encrypted],
        { cwd: repoRoot, env: { ...process.env, SSH_AUTH_SOCK: '' } },
      ).catch((error: unknown) => error as { code: number; stderr: string });
      assert.equal((missing as { code: number }).code, 1);
      assert.match(
        (missing as { stderr: string }).stderr,
        /is encrypted: give its passphrase with --passphrase-file .*ssh-add it to an ssh-agent/,
      );
    });

    it('when ssh-agent holds the encrypted key, then the run uses the agent without a passphrase', async () => {
      assert.ok(agent);
      const result = await lab.provision([...check, '--identity', encrypted], { env: { SSH_AUTH_SOCK: agent.socket } });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /with key \S+id_ed25519\.encrypted \(from ssh-agent\)/);
    });

    it("when no key file is named and none is at the default path, then the agent's keys are used", async () => {
      assert.ok(agent);
      const home = path.join(path.dirname(lab.identityFile), 'empty-home');
      mkdirSync(home, { recursive: true });
      const result = await lab.provision(check, {
        env: { SSH_AUTH_SOCK: agent.socket, HOME: home, PROVISION_SSH_KEY: undefined },
        defaultIdentity: false,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /with ssh-agent \(1 key\)/);
    });
  });

  it('when converged, then SSH is admitted from the bastion only, node_exporter from the monitoring hosts only, and the bastion from anywhere', async () => {
    assert.equal(await reaches('bastion', 'host1', 22), true, 'bastion → host1:22');
    assert.equal(await reaches('host2', 'host1', 22), false, 'host2 → host1:22');
    assert.equal(await reaches('host2', 'host1', 9100), true, 'monitoring host2 → host1:9100');
    assert.equal(await reaches('bastion', 'host1', 9100), false, 'bastion → host1:9100');
    assert.equal(await reaches('host1', 'host2', 9100), false, 'host1 → host2:9100');
    // The bastion admits SSH from anyone; a host opens it only when one of its roles may (egress):
    // monitoring's blackbox probe may, a host with the common role alone may not.
    assert.equal(await reaches('host2', 'bastion', 22), true, 'monitoring host2 → bastion:22');
    assert.equal(await reaches('host1', 'bastion', 22), false, 'host1 → bastion:22 (no egress rule)');
    const metrics = await lab.exec('host2', [
      'timeout',
      '5',
      'bash',
      '-c',
      'exec 3<>"/dev/tcp/$0/9100"; printf "GET /metrics HTTP/1.0\\r\\n\\r\\n" >&3; cat <&3',
      lab.address('host1'),
    ]);
    assert.match(metrics.output, /^node_uname_info\{.*nodename="host1"/m);
    const table = (await lab.exec('host1', ['nft', 'list', 'table', 'inet', 'refereezy'])).output;
    assert.match(table, /policy drop;/);
    assert.match(table, /comment "common: node_exporter, for Prometheus on the monitoring hosts"/);
    // Only its own table: Docker's (the container's DNS) is still there.
    assert.match((await lab.exec('host1', ['nft', 'list', 'tables'])).output, /^table ip nat$/m);
  });

  it('when converged, then apt goes through the proxy, installs security updates only, daily, and the clock and kernel are set', async () => {
    const proxy = (await lab.exec('host1', ['apt-config', 'dump', 'Acquire::http::Proxy'])).output;
    assert.match(proxy, /^Acquire::http::Proxy "http:\/\/[\d.]+:3142";$/m);
    const periodic = (await lab.exec('host1', ['apt-config', 'dump', 'APT::Periodic'])).output;
    assert.match(periodic, /^APT::Periodic::Unattended-Upgrade "1";$/m);
    assert.match(periodic, /^APT::Periodic::Update-Package-Lists "1";$/m);
    for (const timer of ['apt-daily.timer', 'apt-daily-upgrade.timer'])
      assert.equal((await lab.exec('host1', ['systemctl', 'is-active', timer])).output.trim(), 'active', timer);
    const dryRun = await lab.exec('host1', ['unattended-upgrade', '--dry-run', '--debug']);
    const origins = /^Allowed origins are: (.*)$/m.exec(dryRun.output)?.[1];
    assert.equal(origins, 'origin=Debian,codename=trixie-security,label=Debian-Security', dryRun.output);

    assert.equal((await lab.exec('host1', ['systemctl', 'is-enabled', 'chrony.service'])).output.trim(), 'enabled');
    assert.match(
      (await lab.exec('host1', ['cat', '/etc/chrony/sources.d/refereezy.sources'])).output,
      /^server 169\.254\.169\.123 iburst$/m,
    );
    assert.equal(
      (await lab.exec('host1', ['systemctl', 'is-active', 'prometheus-node-exporter.service'])).output.trim(),
      'active',
    );

    assert.equal((await lab.exec('host1', ['sysctl', '-n', 'net.ipv4.conf.all.accept_redirects'])).output.trim(), '0');
    assert.match(
      (await lab.exec('host1', ['cat', '/etc/sysctl.d/60-refereezy-hardening.conf'])).output,
      /^net\.ipv4\.tcp_syncookies = 1$/m,
    );
  });

  it('when the firewall table is deleted by hand, then the next converge loads it again (its handler reloads it once more), and nothing else', async () => {
    assert.equal((await lab.exec('host1', ['nft', 'delete', 'table', 'inet', 'refereezy'])).exitCode, 0);
    const result = await lab.provision(['--tags', 'common', '--limit', 'host1']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      recapOf(result, 'host1')
        .tasks.filter((task) => task.status !== 'ok')
        .map((task) => `${task.task}: ${task.commands.join('; ')}`),
      [
        "Render the firewall: drop inbound but the host's roles' ingress rules: nft -f /etc/nftables.conf",
        'handler: reload nftables: systemctl reload-or-restart nftables.service',
      ],
    );
    assert.equal(await reaches('host2', 'host1', 22), false, 'host2 → host1:22 dropped again');
  });
});
