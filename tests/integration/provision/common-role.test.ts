// The common role, Molecule-style: a bastion on a public network and two EC2-like hosts (systemd,
// OpenSSH, sudo) on an internal network that only the bastion reaches. The CLI runs as an operator
// runs it, through the bastion, and the hosts are checked from what a user can observe.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import ssh2, { type Client } from 'ssh2';
import { GenericContainer, Network, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import type { HostRecap } from '../../../provision/core/runner.js';
import { buildEc2HostImage } from '../../support/ec2-host-image.js';
import { repoRoot } from '../../support/paths.js';
import { useRyukOnlyWhereAvailable } from '../../support/ryuk.js';
import { buildServiceImage } from '../../support/service-image.js';

const run = promisify(execFile);
const project = `provision-${randomBytes(3).toString('hex')}`;
const internalNetwork = `${project}-private`;
const dir = mkdtempSync(path.join(tmpdir(), 'provision-test-'));
const identity = path.join(dir, 'id_ed25519');
const knownHosts = path.join(dir, 'known_hosts');
const inventory = path.join(dir, 'inventory.yaml');
const password = randomBytes(12).toString('base64url');
const hostNames = ['host1', 'host2'] as const;

let publicNetwork: StartedNetwork | undefined;
let internalCreated = false;
let bastion: StartedTestContainer | undefined;
const hosts = new Map<string, StartedTestContainer>();

interface CliRun {
  code: number;
  recaps: HostRecap[];
  progress: string;
}

/** `npm run provision -- <inventory> --json …` as an operator runs it; the JSON recap parsed. */
async function provision(...args: string[]): Promise<CliRun> {
  const argv = ['--import', 'tsx', 'provision/cli/main.ts', inventory, '--json', '--identity', identity, '--known-hosts', knownHosts, ...args];
  let code = 0;
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await run(process.execPath, argv, { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 }));
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    ({ code, stdout, stderr } = failed);
  }
  let recaps: HostRecap[];
  try {
    recaps = (JSON.parse(stdout) as { hosts: HostRecap[] }).hosts;
  } catch {
    assert.fail(`no JSON recap (exit ${code}):\n${stdout}\n${stderr}`);
  }
  return { code, recaps, progress: stderr };
}

function recapOf(result: CliRun, host: string): HostRecap {
  const recap = result.recaps.find((candidate) => candidate.host === host);
  assert.ok(recap, `no recap for ${host}:\n${result.progress}`);
  return recap;
}

async function exec(host: string, command: string[]): Promise<{ exitCode: number; output: string }> {
  const container = hosts.get(host);
  assert.ok(container, host);
  return container.exec(command);
}

function connected(client: Client, config: ssh2.ConnectConfig): Promise<Client> {
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve(client)).once('error', reject).connect({ readyTimeout: 15_000, ...config });
  });
}

/** Tries a password login on a private host through the bastion (the key opens the bastion). */
async function passwordLogin(host: string): Promise<'accepted' | 'refused'> {
  assert.ok(bastion);
  const jump = await connected(new ssh2.Client(), { host: bastion.getHost(), port: bastion.getMappedPort(22), username: 'ops', privateKey: readFileSync(identity) });
  try {
    const channel = await new Promise<ssh2.ClientChannel>((resolve, reject) => {
      jump.forwardOut('127.0.0.1', 0, `${project}-${host}`, 22, (error, stream) => (error ? reject(error) : resolve(stream)));
    });
    try {
      const session = await connected(new ssh2.Client(), { sock: channel, username: 'admin', password, tryKeyboard: true });
      session.end();
      return 'accepted';
    } catch (error) {
      if ((error as { level?: string }).level === 'client-authentication') return 'refused';
      throw error;
    }
  } finally {
    jump.end();
  }
}

before(async () => {
  await useRyukOnlyWhereAvailable();
  const [bastionImage, hostImage] = await Promise.all([buildServiceImage('bastion'), buildEc2HostImage()]);
  const key = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'provision-test' });
  writeFileSync(identity, key.private, { mode: 0o600 });
  writeFileSync(path.join(dir, 'authorized_keys'), `${key.public}\n`);

  publicNetwork = await new Network().start();
  await run('docker', ['network', 'create', '--internal', internalNetwork]);
  internalCreated = true;
  // Published ports need a non-internal network: the bastion starts on the public one, then joins the private one.
  bastion = await new GenericContainer(bastionImage)
    .withNetwork(publicNetwork)
    .withExposedPorts(22)
    .withEnvironment({ BASTION_AUTHORIZED_KEYS: key.public })
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(60_000)
    .start();
  await run('docker', ['network', 'connect', internalNetwork, bastion.getId()]);

  await Promise.all(
    hostNames.map(async (name) => {
      const container = await new GenericContainer(hostImage)
        .withName(`${project}-${name}`)
        .withNetworkMode(internalNetwork)
        .withTmpFs({ '/run': 'rw', '/run/lock': 'rw' })
        .withBindMounts([
          { source: '/sys/fs/cgroup', target: '/sys/fs/cgroup', mode: 'ro' },
          { source: path.join(dir, 'authorized_keys'), target: '/etc/ec2-host/authorized_keys', mode: 'ro' },
        ])
        .withWaitStrategy(Wait.forSuccessfulCommand('systemctl is-active --quiet ssh.service'))
        .withStartupTimeout(90_000)
        .start();
      hosts.set(name, container);
      // A fresh machine whose admin also has a password: the role must make sshd refuse it.
      const { exitCode, output } = await container.exec(['sh', '-c', `echo 'admin:${password}' | chpasswd`]);
      assert.equal(exitCode, 0, output);
    }),
  );

  writeFileSync(
    inventory,
    [
      `bastion: { host: ${bastion.getHost()}, port: ${bastion.getMappedPort(22)}, user: ops }`,
      'user: admin',
      `vars: { admin_authorized_keys: ["${key.public}"] }`,
      'groups: { ec2: {} }',
      'hosts:',
      ...hostNames.map((name) => `  ${name}: { address: ${project}-${name}, groups: [ec2] }`),
      // In the inventory, with no machine behind it.
      `  ghost: { address: ${project}-ghost, groups: [ec2] }`,
    ].join('\n'),
  );
});

after(async () => {
  for (const container of [...hosts.values(), bastion]) await container?.stop().catch(() => undefined);
  if (internalCreated) await run('docker', ['network', 'rm', internalNetwork]).catch(() => undefined);
  await publicNetwork?.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('provisioning the common role through the bastion', () => {
  it('when the hosts are fresh, then sshd still accepts the password (the baseline the role changes)', async () => {
    assert.equal(await passwordLogin('host1'), 'accepted');
  });

  it('when a host key is not pinned and no trust is given, then nothing connects and the key is named', async () => {
    const result = await provision('--limit', 'host1');
    assert.equal(result.code, 2);
    const recap = recapOf(result, 'host1');
    assert.equal(recap.error?.kind, 'host-key', JSON.stringify(recap));
    assert.match(recap.error.message, /not in .*known_hosts.*--trust-new-host-keys/);
  });

  it('when --check runs on fresh hosts, then it reports the would-be changes and changes nothing', async () => {
    const before = await exec('host1', ['sha256sum', '/etc/ssh/sshd_config']);
    const result = await provision('--check', '--diff', '--limit', 'host1,host2', '--trust-new-host-keys');
    assert.equal(result.code, 0, result.progress);
    assert.match(result.progress, /pinned the new host key of \[.*\]:\d+: SHA256:/);
    for (const name of hostNames) {
      const recap = recapOf(result, name);
      assert.equal(recap.failed, 0, JSON.stringify(recap));
      assert.ok(recap.changed >= 5, `${name}: ${recap.changed} would-be changes`);
      const sshd = recap.tasks.find((task) => task.task.startsWith('Render sshd_config'));
      assert.equal(sshd?.status, 'changed');
      assert.match(sshd.diff ?? '', /^\+PasswordAuthentication no$/m);
      assert.deepEqual(recap.handlers, ['reload sshd']);
    }
    assert.deepEqual(await exec('host1', ['sha256sum', '/etc/ssh/sshd_config']), before);
    assert.notEqual((await exec('host1', ['getent', 'group', 'ssh-users'])).exitCode, 0, 'no group created');
    assert.notEqual((await exec('host1', ['test', '-e', '/etc/ssh/host_keys'])).exitCode, 0, 'no directory created');
  });

  it('when converged from scratch with a host that does not exist, then both hosts change and the missing one is unreachable', async () => {
    const result = await provision('--diff');
    assert.equal(result.code, 2, 'an unreachable host fails the run');
    for (const name of hostNames) {
      const recap = recapOf(result, name);
      assert.equal(recap.status, 'changed', `${name}: ${JSON.stringify(recap.error)}\n${result.progress}`);
      assert.equal(recap.failed, 0);
      assert.ok(recap.tasks.some((task) => task.task === 'handler: reload sshd' && task.status === 'changed'), 'sshd reloaded');
      const packages = recap.tasks.find((task) => task.task === 'Install OpenSSH and sudo');
      assert.equal(packages?.status, 'ok', 'the image has them: nothing to fetch');
    }
    const ghost = recapOf(result, 'ghost');
    assert.equal(ghost.status, 'unreachable');
    assert.equal(ghost.error?.kind, 'network');
    assert.match(ghost.error.message, /^ghost: the bastion cannot reach/);
  });

  it('when converged again, then nothing changes (any change is printed with its diff)', async () => {
    const result = await provision('--limit', 'host1,host2');
    const changes = result.recaps.flatMap((recap) => recap.tasks.filter((task) => task.status !== 'ok').map((task) => `${task.host} ${task.task}: ${task.reason}\n${task.diff ?? ''}`));
    assert.deepEqual(changes, []);
    assert.equal(result.code, 0);
    for (const name of hostNames) assert.equal(recapOf(result, name).changed, 0);
  });

  it('when converged, then sshd runs the shared sshd_config and refuses password logins', async () => {
    for (const name of hostNames) {
      assert.equal((await exec(name, ['systemctl', 'is-active', 'ssh.service'])).output.trim(), 'active');
      const effective = (await exec(name, ['sshd', '-T'])).output;
      assert.match(effective, /^passwordauthentication no$/m);
      assert.match(effective, /^permitrootlogin no$/m);
      assert.equal((await exec(name, ['id', '-nG', 'admin'])).output.trim().split(' ').includes('ssh-users'), true);
    }
    assert.equal(await passwordLogin('host1'), 'refused');
    assert.equal(await passwordLogin('host2'), 'refused');
  });
});
