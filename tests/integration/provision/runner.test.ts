// The runner and the systemd operations on one real EC2-like host (Debian + systemd + OpenSSH, as
// compose/ec2-host builds it), reached directly over SSH (the bastion is the common role's test's
// subject): handlers that survive a lost connection and a failing handler, --check that writes
// nothing (the pending-handlers file included), a sensitive file that no report shows, chrony (whose
// start condition a container never meets), a systemd timer and a unit file that the same run starts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import ssh2 from 'ssh2';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { Bastion, type HostConnection } from '../../../provision/connectors/ssh.js';
import { pendingHandlersFile } from '../../../provision/core/pending-handlers.js';
import { converge, type HostRecap, type PlannedRole, type TaskReport } from '../../../provision/core/runner.js';
import type { Host } from '../../../provision/inventories/schema.js';
import { packages } from '../../../provision/operations/apt.js';
import { file } from '../../../provision/operations/files.js';
import { run } from '../../../provision/operations/operation.js';
import { service, unitFile } from '../../../provision/operations/systemd.js';
import { timer } from '../../../provision/operations/timer.js';
import type { Role } from '../../../provision/roles/role.js';
import { buildEc2HostImage } from '../../support/ec2-host-image.js';
import { TcpProxy } from '../../support/tcp-proxy.js';
import { useRyukOnlyWhereAvailable } from '../../support/ryuk.js';

const dir = mkdtempSync(path.join(tmpdir(), 'provision-runner-'));
const key = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'runner-test' });
const secret = `smtp_password=${randomBytes(12).toString('hex')}`;
const host: Host = { name: 'host1', address: '127.0.0.1', port: 22, groups: [], vars: {} };
let container: StartedTestContainer | undefined;

/**
 * A session on the host through the connector's public API: the host is its own "bastion" (its sshd
 * forwards to its own port 22), so nothing here depends on the connector's internals.
 */
async function connect(through?: TcpProxy): Promise<{ jump: Bastion; connection: HostConnection }> {
  assert.ok(container);
  const options = {
    auth: { privateKey: key.private, description: 'the test key' },
    knownHostsFile: path.join(dir, 'known_hosts'),
    trustNewHostKeys: true,
  };
  const [address = '', port = ''] = through
    ? through.address.split(':')
    : [container.getHost(), String(container.getMappedPort(22))];
  const jump = await Bastion.connect({ name: 'jump', address, port: Number(port), user: 'admin' }, options);
  return { jump, connection: await jump.host({ name: host.name, address: '127.0.0.1', port: 22, user: 'admin' }) };
}

async function exec(...command: string[]): Promise<{ exitCode: number; output: string }> {
  assert.ok(container);
  return container.exec(command);
}

const helloUnit = `[Unit]
Description=Refereezy runner test: a long-running service from a unit file installed in the same run

[Service]
ExecStart=/bin/sleep infinity

[Install]
WantedBy=multi-user.target
`;

/** The role under test: every operation this suite covers, and a handler notified by the unit file. */
const subject: Role = {
  name: 'subject',
  tasks: () => [],
  handlers: {
    'restart hello': {
      name: 'restart hello',
      commands: [run('systemctl', 'restart', 'refereezy-hello.service'), run('touch', '/run/hello-restarted')],
    },
  },
};
const subjectTasks = [
  {
    name: 'Write the mail relay password',
    operation: file({ path: '/etc/refereezy-secret.env', content: `${secret}\n`, mode: '0600', sensitive: true }),
  },
  {
    name: 'Install the hello unit',
    operation: unitFile({ name: 'refereezy-hello.service', content: helloUnit }),
    notify: ['restart hello'],
  },
  { name: 'Keep hello running', operation: service({ unit: 'refereezy-hello.service', enabled: true, running: true }) },
  {
    name: 'Stamp the time every day',
    operation: timer({
      name: 'refereezy-stamp',
      description: 'Stamp the time',
      command: ['/bin/sh', '-c', 'date +%s > "$HOME/stamp"'],
      user: 'admin',
      onCalendar: '*-*-* 04:00:00',
      persistent: true,
      randomizedDelaySec: 60,
    }),
  },
  { name: 'Install chrony', operation: packages({ packages: ['chrony'], present: true }) },
  { name: 'Keep chrony running', operation: service({ unit: 'chrony.service', enabled: true, running: true }) },
];

/** A role whose handler fails until /etc/refereezy-ready exists. */
const flaky = (content: string): PlannedRole => ({
  role: {
    name: 'flaky',
    tasks: () => [],
    handlers: { 'check ready': { name: 'check ready', commands: [run('test', '-e', '/etc/refereezy-ready')] } },
  },
  tasks: [
    {
      name: 'Write the flaky file',
      operation: file({ path: '/etc/refereezy-flaky', content }),
      notify: ['check ready'],
    },
  ],
});

async function converged(
  plan: PlannedRole[],
  check: boolean,
  onTask?: (report: TaskReport, connection: HostConnection) => void,
  through?: TcpProxy,
): Promise<HostRecap> {
  const { jump, connection } = await connect(through);
  try {
    return await converge(connection, host, plan, {
      check,
      ...(onTask ? { onTask: (report) => onTask(report, connection) } : {}),
    });
  } finally {
    connection.close();
    jump.close();
  }
}

const task = (recap: HostRecap, name: string) => recap.tasks.find((report) => report.task === name);
const changes = (recap: HostRecap) =>
  recap.tasks
    .filter((report) => report.status !== 'ok')
    .map((report) => `${report.task}: ${report.status} ${report.reason}`);

before(async () => {
  await useRyukOnlyWhereAvailable();
  writeFileSync(path.join(dir, 'authorized_keys'), `${key.public}\n`);
  writeFileSync(path.join(dir, 'id_ed25519'), key.private, { mode: 0o600 });
  // On Docker's default bridge: chrony comes from the Debian mirror the image's apt sources name.
  container = await new GenericContainer(await buildEc2HostImage())
    .withExposedPorts(22)
    .withTmpFs({ '/run': 'rw', '/run/lock': 'rw' })
    .withBindMounts([
      { source: '/sys/fs/cgroup', target: '/sys/fs/cgroup', mode: 'ro' },
      { source: path.join(dir, 'authorized_keys'), target: '/etc/ec2-host/authorized_keys', mode: 'ro' },
    ])
    .withWaitStrategy(Wait.forSuccessfulCommand('systemctl is-active --quiet ssh.service'))
    .withStartupTimeout(90_000)
    .start();
});

after(async () => {
  await container?.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('the runner on a real host', () => {
  it('when --check runs on a fresh host, then every change is reported and nothing is written, not even the pending handlers', async () => {
    const recap = await converged([{ role: subject, tasks: subjectTasks }], true);
    assert.equal(recap.failed, 0, JSON.stringify(recap.error));
    assert.deepEqual(recap.handlers, ['restart hello']);
    assert.equal(task(recap, 'handler: restart hello')?.reason, 'would run restart hello');
    assert.match(
      task(recap, 'Stamp the time every day')?.reason ?? '',
      /create .*refereezy-stamp\.service, create .*refereezy-stamp\.timer, reload systemd, enable refereezy-stamp\.timer, start refereezy-stamp\.timer/,
    );
    for (const path of [
      '/etc/refereezy-secret.env',
      '/etc/systemd/system/refereezy-hello.service',
      '/etc/systemd/system/refereezy-stamp.timer',
      '/var/lib/refereezy-provision',
    ]) {
      assert.notEqual((await exec('test', '-e', path)).exitCode, 0, `${path} was written under --check`);
    }
  });

  it('when the connection drops right after a change that notifies a handler, then the handler is recorded on the host and the next run runs it', async (t) => {
    const dropped = await converged([{ role: subject, tasks: subjectTasks }], false, (report, connection) => {
      if (report.task === 'Install the hello unit') connection.close();
    });
    assert.equal(dropped.status, 'failed');
    assert.equal(dropped.error?.kind, 'network', JSON.stringify(dropped.error));
    assert.equal(task(dropped, 'handler: restart hello')?.status, 'failed');
    assert.equal((await exec('cat', pendingHandlersFile)).output, 'subject/restart hello\n');

    const next = await converged([{ role: subject, tasks: subjectTasks }], false);
    for (const line of changes(next)) t.diagnostic(line);
    assert.equal(next.failed, 0, `${JSON.stringify(next.error)}\n${changes(next).join('\n')}`);
    assert.equal(task(next, 'handler: restart hello')?.reason, 'ran restart hello (pending from an earlier run)');
    assert.equal((await exec('test', '-e', '/run/hello-restarted')).exitCode, 0);
    assert.notEqual(
      (await exec('test', '-e', pendingHandlersFile)).exitCode,
      0,
      'the handler left the file once it ran',
    );
  });

  it('when converged, then the unit installed in the same run runs, the timer waits, the secret is in place and chrony is left to its condition', async () => {
    assert.equal((await exec('systemctl', 'is-active', 'refereezy-hello.service')).output.trim(), 'active');
    assert.equal((await exec('systemctl', 'is-active', 'refereezy-stamp.timer')).output.trim(), 'active');
    assert.equal((await exec('systemctl', 'is-enabled', 'refereezy-stamp.timer')).output.trim(), 'enabled');
    assert.match(
      (await exec('systemctl', 'show', '--property=NextElapseUSecRealtime', 'refereezy-stamp.timer')).output,
      /04:0\d:\d\d|04:00/,
    );
    // What the timer starts runs as its user, the command as written.
    assert.equal((await exec('systemctl', 'start', 'refereezy-stamp.service')).exitCode, 0);
    assert.match((await exec('stat', '-c', '%U %n', '/home/admin/stamp')).output, /^admin /);
    assert.match((await exec('stat', '-c', '%a %U', '/etc/refereezy-secret.env')).output, /^600 root/);
    assert.equal((await exec('cat', '/etc/refereezy-secret.env')).output, `${secret}\n`);
    assert.equal((await exec('systemctl', 'is-active', 'chrony.service')).output.trim(), 'inactive');
  });

  it('when converged again, then nothing changes, chrony included, and no report shows the secret', async () => {
    const recap = await converged([{ role: subject, tasks: subjectTasks }], false);
    assert.deepEqual(changes(recap), []);
    assert.match(
      task(recap, 'Keep chrony running')?.reason ?? '',
      /^service chrony\.service is enabled and not running: its start condition is unmet on this host \(ConditionCapability=CAP_SYS_TIME\)$/,
    );
    assert.doesNotMatch(JSON.stringify(recap), new RegExp(secret.split('=')[1] ?? secret));
  });

  it('when the secret changes, then the report says so by its sha256 only', async () => {
    const changed = subjectTasks.map((entry) =>
      entry.name === 'Write the mail relay password'
        ? {
            ...entry,
            operation: file({
              path: '/etc/refereezy-secret.env',
              content: 'smtp_password=rotated\n',
              mode: '0600',
              sensitive: true,
            }),
          }
        : entry,
    );
    const recap = await converged([{ role: subject, tasks: changed }], false);
    const report = task(recap, 'Write the mail relay password');
    assert.match(
      report?.reason ?? '',
      /^update the content of \/etc\/refereezy-secret\.env: content changed \(sensitive, sha256 [0-9a-f]{12}…→[0-9a-f]{12}…\)$/,
    );
    assert.doesNotMatch(JSON.stringify(recap), /rotated|smtp_password/);
  });

  it('when the schedule changes, then the timer file is rewritten, systemd reloaded, and the next run is the new time', async () => {
    const moved = subjectTasks.map((entry) =>
      entry.name === 'Stamp the time every day'
        ? {
            ...entry,
            operation: timer({
              name: 'refereezy-stamp',
              description: 'Stamp the time',
              command: ['/bin/sh', '-c', 'date +%s > "$HOME/stamp"'],
              user: 'admin',
              onCalendar: '*-*-* 05:30:00',
              persistent: true,
            }),
          }
        : entry,
    );
    const recap = await converged([{ role: subject, tasks: moved }], false);
    assert.equal(
      task(recap, 'Stamp the time every day')?.reason,
      'update the content of /etc/systemd/system/refereezy-stamp.timer, reload systemd',
    );
    assert.match(
      (await exec('systemctl', 'show', '--property=NextElapseUSecRealtime', 'refereezy-stamp.timer')).output,
      /05:30:00/,
    );
  });

  it('when a handler fails, then it stays pending: --check says it would run, and the next run that succeeds clears it', async () => {
    const failed = await converged([flaky('one\n')], false);
    assert.equal(task(failed, 'handler: check ready')?.status, 'failed');
    assert.equal((await exec('cat', pendingHandlersFile)).output, 'flaky/check ready\n');

    const checked = await converged([flaky('one\n')], true);
    assert.equal(task(checked, 'Write the flaky file')?.status, 'ok');
    assert.equal(task(checked, 'handler: check ready')?.reason, 'would run check ready (pending from an earlier run)');
    assert.equal((await exec('cat', pendingHandlersFile)).output, 'flaky/check ready\n', '--check leaves it');

    // Another role's run leaves it pending too: it is flaky's to run.
    await converged([{ role: subject, tasks: subjectTasks }], false);
    assert.equal((await exec('cat', pendingHandlersFile)).output, 'flaky/check ready\n');

    await exec('touch', '/etc/refereezy-ready');
    const fixed = await converged([flaky('one\n')], false);
    assert.equal(fixed.failed, 0);
    assert.equal(task(fixed, 'handler: check ready')?.reason, 'ran check ready (pending from an earlier run)');
    assert.notEqual((await exec('test', '-e', pendingHandlersFile)).exitCode, 0);
    assert.deepEqual(changes(await converged([flaky('one\n')], false)), []);
  });
  it('when a file with a validate step gets content its check rejects, then the running file stays as it was and no temporary file is left; valid content replaces it', async () => {
    const config = '/etc/ssh/sshd_config';
    const before = (await exec('sha256sum', config)).output;
    const rendered = (content: string): PlannedRole => ({
      role: { name: 'sshd', tasks: () => [], handlers: {} },
      tasks: [
        {
          name: 'Render sshd_config',
          operation: file({ path: config, content, mode: '0600', validate: 'sshd -t -f %s' }),
        },
      ],
    });
    const rejected = await converged([rendered('Port 22\nNoSuchKeyword yes\n')], false);
    assert.equal(rejected.status, 'failed');
    assert.equal(rejected.error?.kind, 'command');
    assert.match(rejected.error.message, /Bad configuration option: NoSuchKeyword|NoSuchKeyword/);
    assert.equal((await exec('sha256sum', config)).output, before, 'the rejected config replaced the running one');
    assert.equal(
      (await exec('sh', '-c', 'ls -A /etc/ssh | grep "^\\.sshd_config\\.refereezy-" || true')).output.trim(),
      '',
      'the temporary file was left behind',
    );

    const current = (await exec('cat', config)).output;
    const accepted = await converged([rendered(`${current}# checked by sshd -t first\n`)], false);
    assert.equal(accepted.failed, 0, JSON.stringify(accepted.error));
    assert.match((await exec('tail', '-n', '1', config)).output, /^# checked by sshd -t first$/m);
    assert.equal((await exec('stat', '-c', '%a', config)).output.trim(), '600');
  });

  it('when the connection is cut in the middle of writing a file, then the old file stays whole (no truncated file), and the next run converges', async (t) => {
    const target = '/etc/refereezy-large.conf';
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    const old = 'the previous, complete version\n';
    const roleWith = (content: string): PlannedRole => ({
      role: { name: 'large', tasks: () => [], handlers: {} },
      tasks: [{ name: 'Write the large file', operation: file({ path: target, content }) }],
    });
    assert.equal((await converged([roleWith(old)], false)).failed, 0);
    // One line of 12 MB: long enough to be cut half-way, cheap to diff.
    const large = `${randomBytes(9 * 1024 * 1024).toString('base64')}\n`;
    const hashOnHost = async () => (await exec('sha256sum', target)).output.split(' ')[0];

    const proxy = await TcpProxy.start(container?.getHost() ?? '127.0.0.1', container?.getMappedPort(22) ?? 22);
    try {
      const cut = proxy.cutAfter(3 * 1024 * 1024);
      const run = converged([roleWith(large)], false, undefined, proxy);
      await cut;
      await sleep(1_000);
      // Cut with the upload part-way: the new content sits in a temporary file beside the old one, which is untouched.
      assert.equal(await hashOnHost(), sha(old), 'the file changed while its write was cut off');
      const temporary = (
        await exec('sh', '-c', 'ls -A /etc | grep "^\\.refereezy-large\\.conf\\.refereezy-" || true')
      ).output.trim();
      t.diagnostic(
        `during the cut: ${temporary || 'no temporary file'}; ${target} still sha256 ${sha(old).slice(0, 12)}…`,
      );
      assert.notEqual(temporary, '', 'no write was in progress when the path was cut');
      // The path comes back: the session is gone, the host's shell sees its input end early and keeps the old file.
      proxy.reconnect();
      const dropped = await run;
      // The session ends under the command (ssh2 reports a channel closed without an exit status): the task fails, nothing else.
      assert.equal(dropped.status, 'failed');
      assert.equal(task(dropped, 'Write the large file')?.status, 'failed');
      let left = temporary;
      for (let tries = 0; tries < 50 && left !== ''; tries += 1) {
        await sleep(200);
        left = (
          await exec('sh', '-c', 'ls -A /etc | grep "^\\.refereezy-large\\.conf\\.refereezy-" || true')
        ).output.trim();
      }
      assert.equal(left, '', 'the temporary file was left behind');
      assert.equal(await hashOnHost(), sha(old));
    } finally {
      await proxy.stop();
    }

    const next = await converged([roleWith(large)], false);
    assert.equal(next.failed, 0, JSON.stringify(next.error));
    assert.equal(task(next, 'Write the large file')?.status, 'changed');
    assert.equal(await hashOnHost(), sha(large));
    assert.deepEqual(changes(await converged([roleWith(large)], false)), []);
  });

  it('when a sudoers file fails visudo, then it is not installed and sudo keeps working; a valid one is', async () => {
    const sudoers = (content: string): PlannedRole => ({
      role: { name: 'sudo', tasks: () => [], handlers: {} },
      tasks: [
        {
          name: 'Let the deploy user restart the API',
          operation: file({ path: '/etc/sudoers.d/50-deploy', content, mode: '0440', validate: 'visudo -cf %s' }),
        },
      ],
    });
    const broken = await converged(
      [sudoers('deploy ALL=(ALL) NOPASSWD: /bin/systemctl restart api.service,\n')],
      false,
    );
    assert.equal(broken.status, 'failed');
    assert.match(
      broken.error?.message ?? '',
      /50-deploy: the new content fails the check \(visudo -cf \/etc\/sudoers\.d\/\.50-deploy\.refereezy-\w+\)/,
    );
    assert.notEqual((await exec('test', '-e', '/etc/sudoers.d/50-deploy')).exitCode, 0);
    assert.equal((await exec('runuser', '-u', 'admin', '--', 'sudo', '-n', 'true')).exitCode, 0, 'sudo broke');
    const fixed = await converged([sudoers('Cmnd_Alias API = /bin/systemctl restart api.service\n')], false);
    assert.equal(fixed.failed, 0, JSON.stringify(fixed.error));
    assert.match((await exec('stat', '-c', '%a %U', '/etc/sudoers.d/50-deploy')).output, /^440 root/);
  });

  it('when dpkg was killed half-way through configuring a package, then the next packages task recovers it (dpkg --configure -a) and apt works again', async (t) => {
    // A local package whose postinst blocks while /run/refereezy-slow-postinst exists: dpkg is killed there.
    const build = [
      'set -e',
      'rm -rf /tmp/slow && mkdir -p /tmp/slow/DEBIAN',
      'printf "Package: refereezy-lab-slow\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: Lab <lab@example.invalid>\\nDescription: a package whose configuration is interrupted\\n" >/tmp/slow/DEBIAN/control',
      'printf "#!/bin/sh\\n[ ! -e /run/refereezy-slow-postinst ] || sleep 15\\n" >/tmp/slow/DEBIAN/postinst',
      'chmod 0755 /tmp/slow/DEBIAN/postinst',
      'dpkg-deb --build /tmp/slow /tmp/refereezy-lab-slow.deb >/dev/null',
      'touch /run/refereezy-slow-postinst',
      'timeout -s KILL 5 dpkg -i /tmp/refereezy-lab-slow.deb >/dev/null 2>&1 || true',
      'rm -f /run/refereezy-slow-postinst',
    ].join('\n');
    assert.equal((await exec('sh', '-c', build)).exitCode, 0);
    const status = async () =>
      (await exec('dpkg-query', '--show', '--showformat=${db:Status-Status}', 'refereezy-lab-slow')).output.trim();
    assert.equal(await status(), 'half-configured');
    const refused = await exec('apt-get', 'install', '-y', '-s', 'sudo');
    t.diagnostic(`apt before the recovery: exit ${refused.exitCode}`);

    const role: PlannedRole = {
      role: { name: 'base', tasks: () => [], handlers: {} },
      tasks: [{ name: 'Install sudo', operation: packages({ packages: ['sudo'], present: true }) }],
    };
    const recovered = await converged([role], false);
    assert.equal(recovered.failed, 0, JSON.stringify(recovered.error));
    assert.match(
      task(recovered, 'Install sudo')?.reason ?? '',
      /^recover: dpkg was interrupted: .*refereezy-lab-slow.* \(dpkg --configure -a\); package sudo installed$/,
    );
    assert.equal(await status(), 'installed');
    assert.equal((await exec('dpkg', '--audit')).output.trim(), '');
    assert.equal((await exec('apt-get', 'install', '-y', '-s', 'sudo')).exitCode, 0);
    assert.deepEqual(changes(await converged([role], false)), []);
  });
});
