// The common role, Molecule-style, in the provisioning lab: a bastion on a public and an internal
// network, two EC2-like hosts (systemd, OpenSSH, sudo) on the internal one, which reaches the Debian
// mirror only through the lab's apt proxy. The CLI runs as an operator runs it, through the bastion,
// and the hosts are checked from what a user can observe.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import ssh2, { type Client } from 'ssh2';
import { parse, stringify } from 'yaml';
import type { HostRecap } from '../../../provision/core/runner.js';
import { startProvisionLab, type ProvisionRun, type StartedProvisionLab } from '../../support/provision-lab.js';

const password = randomBytes(12).toString('base64url');
const hostNames = ['host1', 'host2'] as const;
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
  assert.ok(task, `${recap.host}: no task ${String(name)} in ${recap.tasks.map((candidate) => candidate.task).join(' | ')}`);
  return task;
}

/** Every task that did not report ok, with its reason and diff: an empty list is a converged run. */
const changes = (result: ProvisionRun) => result.recap.hosts.flatMap((recap) => recap.tasks.filter((task) => task.status !== 'ok').map((task) => `${task.host} ${task.task}: ${task.reason}\n${task.diff ?? ''}`));

function connected(client: Client, config: ssh2.ConnectConfig): Promise<Client> {
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve(client)).once('error', reject).connect({ readyTimeout: 15_000, ...config });
  });
}

/** Tries a password login on a private host through the bastion (the key opens the bastion). */
async function passwordLogin(host: string): Promise<'accepted' | 'refused'> {
  const jump = await connected(new ssh2.Client(), { ...lab.bastionEndpoint, username: 'admin', privateKey: readFileSync(lab.identityFile) });
  try {
    const channel = await new Promise<ssh2.ClientChannel>((resolve, reject) => {
      jump.forwardOut('127.0.0.1', 0, lab.address(host), 22, (error, stream) => (error ? reject(error) : resolve(stream)));
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

/** Whether `from` opens a TCP connection to `to`:port within 3 s (a dropped SYN never answers). */
async function reaches(from: string, to: string, port: number): Promise<boolean> {
  const { exitCode } = await lab.exec(from, ['timeout', '3', 'bash', '-c', 'exec 3<>"/dev/tcp/$0/$1"', lab.address(to), String(port)]);
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
  lab = await startProvisionLab({ hosts: { host1: { groups: ['ec2'] }, host2: { groups: ['ec2', 'monitoring'] } } });
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
    const result = await lab.provision(['--limit', 'host1', '--tags', 'common', '--known-hosts', bastionOnlyKnownHosts('known_hosts.refused')]);
    assert.equal(result.code, 2);
    const recap = recapOf(result, 'host1');
    assert.equal(recap.error?.kind, 'host-key', JSON.stringify(recap));
    assert.match(recap.error.message, new RegExp(`^host1: the host key of ${lab.address('host1').replaceAll('.', '\\.')} .* is not in .*known_hosts.*--trust-new-host-keys`));
    assert.equal(recap.tasks.length, 0);
  });

  it(
    'when --check runs on fresh hosts with --trust-new-host-keys, then it pins their real keys, reports the would-be changes and changes nothing',
    async () => {
      const before = await lab.exec('host1', ['sha256sum', '/etc/ssh/sshd_config']);
      const knownHosts = bastionOnlyKnownHosts('known_hosts.pinned');
      const result = await lab.provision(['--check', '--diff', '--tags', 'common', '--limit', 'host1,host2', '--trust-new-host-keys', '--known-hosts', knownHosts]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /pinned the new host key of \S+: SHA256:/);
      // What --trust-new-host-keys pinned is what the machines have (the lab read it out of band).
      const pinned = readFileSync(knownHosts, 'utf8');
      for (const name of hostNames) {
        const expected = readFileSync(lab.knownHostsFile, 'utf8').split('\n').find((line) => line.startsWith(`${lab.address(name)} `));
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
        assert.match(firewall.diff ?? '', /^\+\t\tip saddr \S+ tcp dport 22 accept comment "common: SSH, from the bastion only"$/m);
        assert.match(taskOf(recap, /^Install the baseline/).reason, /install nftables, prometheus-node-exporter/);
        assert.deepEqual([...recap.handlers].sort(), ['reload nftables', 'reload sshd', 'restart chrony']);
      }
      assert.deepEqual(await lab.exec('host1', ['sha256sum', '/etc/ssh/sshd_config']), before);
      assert.notEqual((await lab.exec('host1', ['getent', 'group', 'ssh-users'])).exitCode, 0, 'no group created');
      assert.notEqual((await lab.exec('host1', ['test', '-e', '/etc/ssh/host_keys'])).exitCode, 0, 'no directory created');
      assert.notEqual((await lab.exec('host1', ['test', '-e', '/etc/apt/apt.conf.d/01refereezy-proxy'])).exitCode, 0, 'no apt proxy set');
      assert.notEqual((await lab.exec('host1', ['dpkg-query', '--show', 'nftables'])).exitCode, 0, 'nothing installed');
    },
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
        assert.match(sysctl.commands[0] ?? '', / write \/etc\/sysctl\.d\/60-refereezy-hardening\.conf 0644 root root \d+$/, 'one atomic write of the file');
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
    const metrics = await lab.exec('host2', ['timeout', '5', 'bash', '-c', 'exec 3<>"/dev/tcp/$0/9100"; printf "GET /metrics HTTP/1.0\\r\\n\\r\\n" >&3; cat <&3', lab.address('host1')]);
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
    for (const timer of ['apt-daily.timer', 'apt-daily-upgrade.timer']) assert.equal((await lab.exec('host1', ['systemctl', 'is-active', timer])).output.trim(), 'active', timer);
    const dryRun = await lab.exec('host1', ['unattended-upgrade', '--dry-run', '--debug']);
    const origins = /^Allowed origins are: (.*)$/m.exec(dryRun.output)?.[1];
    assert.equal(origins, 'origin=Debian,codename=trixie-security,label=Debian-Security', dryRun.output);

    assert.equal((await lab.exec('host1', ['systemctl', 'is-enabled', 'chrony.service'])).output.trim(), 'enabled');
    assert.match((await lab.exec('host1', ['cat', '/etc/chrony/sources.d/refereezy.sources'])).output, /^server 169\.254\.169\.123 iburst$/m);
    assert.equal((await lab.exec('host1', ['systemctl', 'is-active', 'prometheus-node-exporter.service'])).output.trim(), 'active');

    assert.equal((await lab.exec('host1', ['sysctl', '-n', 'net.ipv4.conf.all.accept_redirects'])).output.trim(), '0');
    assert.match((await lab.exec('host1', ['cat', '/etc/sysctl.d/60-refereezy-hardening.conf'])).output, /^net\.ipv4\.tcp_syncookies = 1$/m);
  });

  it('when the firewall table is deleted by hand, then the next converge loads it again (its handler reloads it once more), and nothing else', async () => {
    assert.equal((await lab.exec('host1', ['nft', 'delete', 'table', 'inet', 'refereezy'])).exitCode, 0);
    const result = await lab.provision(['--tags', 'common', '--limit', 'host1']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      recapOf(result, 'host1').tasks.filter((task) => task.status !== 'ok').map((task) => `${task.task}: ${task.commands.join('; ')}`),
      ["Render the firewall: drop inbound but the host's roles' ingress rules: nft -f /etc/nftables.conf", 'handler: reload nftables: systemctl reload-or-restart nftables.service'],
    );
    assert.equal(await reaches('host2', 'host1', 22), false, 'host2 → host1:22 dropped again');
  });
});
