import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandLine } from '../../../provision/core/shell.js';
import { aptFact } from '../../../provision/facts/apt.js';
import { fileFact } from '../../../provision/facts/files.js';
import type { PathFact } from '../../../provision/facts/files.js';
import { serviceFact } from '../../../provision/facts/systemd.js';
import { userFact } from '../../../provision/facts/users.js';
import { planPackages } from '../../../provision/operations/apt.js';
import { planCommand } from '../../../provision/operations/command.js';
import { unifiedDiff } from '../../../provision/operations/diff.js';
import { atomicWrite, file, planDirectory, planFile, validateWords } from '../../../provision/operations/files.js';
import { planService } from '../../../provision/operations/systemd.js';
import { planGroup, planUser } from '../../../provision/operations/users.js';
import type { Plan } from '../../../provision/operations/operation.js';
import { planTable, regularFileFact, sha256 as sha, writeLine } from './plan-table.js';

const regular = regularFileFact;
const dir = (extra: Partial<PathFact> = {}): PathFact => ({
  type: 'directory',
  owner: 'root',
  group: 'root',
  mode: 0o755,
  size: 4096,
  ...extra,
});

describe('apt packages', () => {
  const apt = 'env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600';
  const recover = 'env DEBIAN_FRONTEND=noninteractive dpkg --force-confdef --force-confold --configure -a';
  const fact = (installed: string[], interrupted: string | null = null) => ({
    installed: new Set(installed),
    interrupted,
  });
  const interrupted = 'dpkg was interrupted: its journal has unapplied entries';
  planTable([
    {
      when: 'every package is installed',
      plan: () =>
        planPackages({ packages: ['openssh-server', 'sudo'], present: true }, fact(['openssh-server', 'sudo'])),
      commands: [],
      reason: /^packages openssh-server, sudo installed$/,
    },
    {
      when: 'one package is missing (apt waits for the dpkg lock)',
      plan: () => planPackages({ packages: ['openssh-server', 'sudo'], present: true }, fact(['sudo'])),
      commands: [`${apt} update -qq`, `${apt} install -y -qq --no-install-recommends -- openssh-server`],
      reason: /install openssh-server/,
    },
    {
      when: 'one package is missing and dpkg was interrupted',
      plan: () => planPackages({ packages: ['nginx'], present: true }, fact([], interrupted)),
      commands: [recover, `${apt} update -qq`, `${apt} install -y -qq --no-install-recommends -- nginx`],
      reason:
        /^recover: dpkg was interrupted: its journal has unapplied entries \(dpkg --configure -a\); install nginx$/,
    },
    {
      when: 'every package is installed but dpkg was interrupted',
      plan: () => planPackages({ packages: ['sudo'], present: true }, fact(['sudo'], interrupted)),
      commands: [recover],
      reason: /^recover: .*; package sudo installed$/,
    },
    {
      when: 'an absent package is not installed',
      plan: () => planPackages({ packages: ['telnet'], present: false }, fact([])),
      commands: [],
      reason: /^package telnet not installed$/,
    },
    {
      when: 'an absent package is installed',
      plan: () => planPackages({ packages: ['telnet'], present: false }, fact(['telnet'])),
      commands: [`${apt} remove -y -qq -- telnet`],
      reason: /remove telnet/,
    },
  ]);

  it('when dpkg-query answers and dpkg is consistent, then the installed packages are parsed (unknown ones are absent)', () => {
    const parsed = aptFact(['a', 'b', 'c']).parse({
      code: 0,
      stdout: 'a\tinstalled\nb\tconfig-files\n--8<-- refereezy dpkg\n',
      stderr: 'dpkg-query: no packages found matching c\n',
    });
    assert.deepEqual([...parsed.installed], ['a']);
    assert.equal(parsed.interrupted, null);
  });

  it('when dpkg left its journal or a half-configured package, then the fact says dpkg was interrupted, and why', () => {
    const parsed = aptFact(['a']).parse({
      code: 0,
      stdout: 'a\thalf-configured\n--8<-- refereezy dpkg\njournal 0001\npackage a\n',
      stderr: '',
    });
    assert.deepEqual([...parsed.installed], []);
    assert.equal(
      parsed.interrupted,
      'dpkg was interrupted: its journal has unapplied entries; a is only partly installed or configured',
    );
  });
});

describe('file', () => {
  const desired = { path: '/etc/motd', content: 'hello\n', mode: '0644' };
  const write = writeLine('/etc/motd', 'hello\n');
  planTable([
    {
      when: 'the file is absent',
      plan: () => planFile(desired, null),
      commands: [write],
      reason: /create \/etc\/motd/,
    },
    {
      when: 'the content differs',
      plan: () => planFile(desired, regular('bye\n')),
      commands: [write],
      reason: /update the content/,
    },
    {
      when: 'only the mode differs',
      plan: () => planFile(desired, regular('hello\n', { mode: 0o600 })),
      commands: ['chmod 0644 -- /etc/motd'],
      reason: /mode 0600 → 0644/,
    },
    {
      when: 'only the owner differs',
      plan: () => planFile({ ...desired, owner: 'admin', group: 'admin' }, regular('hello\n')),
      commands: ['chown admin:admin -- /etc/motd'],
      reason: /owner root:root → admin:admin/,
    },
    {
      when: 'content, owner and mode match',
      plan: () => planFile(desired, regular('hello\n')),
      commands: [],
      reason: /^\/etc\/motd is up to date \(root:root 0644\)$/,
    },
  ]);

  it('when the content differs, then the plan carries the unified diff and the content as stdin', () => {
    const plan = planFile(desired, regular('bye\n'));
    assert.equal(plan.diff, '--- /etc/motd\n+++ /etc/motd (desired)\n@@ -1,1 +1,1 @@\n-bye\n+hello\n');
    assert.equal(plan.commands[0]?.stdin, 'hello\n');
  });

  it('when an existing file is empty, then its content is known (empty) and diffs as such', () => {
    const fact = fileFact('/etc/x').parse({
      code: 0,
      stdout: `regular file|root|root|644|0\n${sha('')}\n`,
      stderr: '',
    });
    assert.equal(fact?.content, '');
    assert.equal(
      planFile({ path: '/etc/x', content: 'a\n' }, fact).diff,
      '--- /etc/x\n+++ /etc/x (desired)\n@@ -0,0 +1,1 @@\n+a\n',
    );
  });

  it('when a directory stands where the file should be, then planning fails naming it', () => {
    assert.throws(
      () => planFile(desired, { ...regular(''), type: 'directory', sha256: null, content: null }),
      /\/etc\/motd is a directory, not a regular file/,
    );
  });

  it('when stat, sha256sum and base64 answer, then the fact is parsed', () => {
    const content = 'a\nb\n';
    const fact = fileFact('/etc/x').parse({
      code: 0,
      stdout: `regular file|root|adm|640|4\n${sha(content)}\n${Buffer.from(content).toString('base64')}`,
      stderr: '',
    });
    assert.deepEqual(fact, {
      type: 'regular file',
      owner: 'root',
      group: 'adm',
      mode: 0o640,
      size: 4,
      sha256: sha(content),
      content,
    });
    assert.equal(fileFact('/etc/x').parse({ code: 0, stdout: '', stderr: '' }), null);
  });
});

describe('file with validate (atomic write)', () => {
  const sudoers = {
    path: '/etc/sudoers.d/90-admins',
    content: 'admin ALL=(ALL) NOPASSWD:ALL\n',
    mode: '0440',
    validate: 'visudo -cf %s',
  };
  planTable([
    {
      when: 'a sudoers file is absent',
      plan: () => planFile(sudoers, null),
      commands: [writeLine(sudoers.path, sudoers.content, '0440', 'root', 'root', 'visudo -cf %s')],
      reason: /^create \/etc\/sudoers\.d\/90-admins \(checked by `visudo -cf %s` first\)$/,
    },
    {
      when: 'it is up to date',
      plan: () => planFile(sudoers, regular(sudoers.content, { mode: 0o440 })),
      commands: [],
      reason: /is up to date \(root:root 0440\)$/,
    },
  ]);

  it('when written, then the checker words follow the path, mode, owner, group and byte length, %s where the temporary file goes', () => {
    const write = atomicWrite({ path: '/etc/ssh/sshd_config', content: 'Port 22\n', validate: 'sshd -t -f %s' });
    assert.deepEqual(write.argv.slice(3), [
      'write',
      '/etc/ssh/sshd_config',
      '0644',
      'root',
      'root',
      '8',
      'sshd',
      '-t',
      '-f',
      '%s',
    ]);
    assert.equal(write.stdin, 'Port 22\n');
    assert.match(write.argv[2] ?? '', /mktemp -- "\$\(dirname -- "\$dest"\)\/\./);
    assert.match(write.argv[2] ?? '', /mv -f -T -- "\$tmp" "\$dest"/);
  });

  it('when validate names no %s or carries shell syntax, then the task is refused before anything connects', () => {
    assert.throws(
      () => file({ path: '/etc/x', content: '', validate: 'visudo -c' }),
      /name the temporary file with %s/,
    );
    assert.throws(
      () => file({ path: '/etc/x', content: '', validate: 'sh -c "check %s"' }),
      /never interpreted by a shell/,
    );
    assert.deepEqual(validateWords('  nft  -c -f %s '), ['nft', '-c', '-f', '%s']);
  });
});

describe('sensitive file', () => {
  const secret = 'password=hunter2\n';
  const desired = { path: '/etc/app/secret.env', content: secret, mode: '0600', sensitive: true };
  const write = writeLine('/etc/app/secret.env', secret, '0600');
  const short = (text: string) => `${sha(text).slice(0, 12)}…`;
  const hidden = (plan: Plan) =>
    `${plan.reason}\n${plan.diff ?? ''}\n${plan.commands.map((command) => commandLine(command.argv)).join('\n')}`;
  planTable([
    {
      when: 'it is absent',
      plan: () => planFile(desired, null),
      commands: [write],
      reason: new RegExp(`^create /etc/app/secret\\.env \\(sensitive, sha256 ${short(secret)}\\)$`),
    },
    {
      when: 'its content differs',
      plan: () => planFile(desired, regular('password=old\n', { mode: 0o600, content: null })),
      commands: [write],
      reason: new RegExp(
        `^update the content of /etc/app/secret\\.env: content changed \\(sensitive, sha256 ${short('password=old\n')}→${short(secret)}\\)$`,
      ),
    },
    {
      when: 'it is up to date',
      plan: () => planFile(desired, regular(secret, { mode: 0o600, content: null })),
      commands: [],
      reason: /^\/etc\/app\/secret\.env is up to date \(root:root 0600\)$/,
    },
  ]);

  it('when it changes, then neither the reason, the diff nor the commands show the content (only stdin carries it)', () => {
    for (const plan of [
      planFile(desired, null),
      planFile(desired, regular('password=old\n', { content: 'password=old\n' })),
    ]) {
      assert.doesNotMatch(hidden(plan), /hunter2|old/);
      assert.match(
        plan.diff ?? '',
        /^--- \/etc\/app\/secret\.env\n\+\+\+ \/etc\/app\/secret\.env \(desired\)\n\(sensitive content not shown: sha256 /,
      );
      assert.equal(plan.commands[0]?.stdin, secret);
    }
  });

  it('when its fact is read, then the probe never asks the host for the content', () => {
    const probe = fileFact('/etc/app/secret.env', { content: false });
    assert.equal(probe.command.at(-1), 'hash');
    const parsed = probe.parse({ code: 0, stdout: `regular file|root|root|600|17\n${sha(secret)}\n`, stderr: '' });
    assert.equal(parsed?.content, null);
    assert.equal(fileFact('/etc/motd').command.at(-1), 'content');
  });
});

describe('directory', () => {
  planTable([
    {
      when: 'it is absent',
      plan: () => planDirectory({ path: '/srv/app', mode: '0750', owner: 'app', group: 'app' }, null),
      commands: ['install -d -m 0750 -o app -g app -- /srv/app'],
      reason: /create directory \/srv\/app/,
    },
    {
      when: 'its mode differs',
      plan: () => planDirectory({ path: '/srv/app' }, dir({ mode: 0o700 })),
      commands: ['chmod 0755 -- /srv/app'],
      reason: /mode 0700 → 0755/,
    },
    {
      when: 'it is as desired',
      plan: () => planDirectory({ path: '/srv/app' }, dir()),
      commands: [],
      reason: /^directory \/srv\/app exists \(root:root 0755\)$/,
    },
  ]);
});

describe('systemd service', () => {
  const fact = (enabled: string, active: string) => ({ load: 'loaded', enabled, active });
  planTable([
    {
      when: 'it is disabled and stopped',
      plan: () => planService({ unit: 'ssh.service', enabled: true, running: true }, fact('disabled', 'inactive')),
      commands: ['systemctl enable -- ssh.service', 'systemctl start -- ssh.service'],
      reason: /enable and start ssh.service/,
    },
    {
      when: 'it is enabled and running',
      plan: () => planService({ unit: 'ssh.service', enabled: true, running: true }, fact('enabled', 'active')),
      commands: [],
      reason: /^service ssh.service is enabled and active$/,
    },
    {
      when: 'it must stop but runs',
      plan: () => planService({ unit: 'telnet.socket', running: false }, fact('enabled', 'active')),
      commands: ['systemctl stop -- telnet.socket'],
      reason: /stop telnet.socket/,
    },
  ]);

  it('when systemctl show answers, then load, enablement and activity are parsed', () => {
    assert.deepEqual(
      serviceFact('ssh.service').parse({
        code: 0,
        stdout: 'LoadState=loaded\nActiveState=active\nUnitFileState=enabled\n',
        stderr: '',
      }),
      { ...fact('enabled', 'active'), condition: null },
    );
  });
});

describe('users and groups', () => {
  const admin = { name: 'admin', home: '/home/admin', shell: '/bin/bash', groups: ['admin'] };
  planTable([
    {
      when: 'the group is missing',
      plan: () => planGroup({ name: 'ssh-users', system: true }, false),
      commands: ['groupadd --system -- ssh-users'],
      reason: /create group ssh-users/,
    },
    {
      when: 'the group exists',
      plan: () => planGroup({ name: 'ssh-users' }, true),
      commands: [],
      reason: /^group ssh-users exists$/,
    },
    {
      when: 'the user is missing',
      plan: () => planUser({ name: 'admin', groups: ['ssh-users'] }, null),
      commands: ['useradd --create-home --shell /bin/bash --groups ssh-users -- admin'],
      reason: /create user admin/,
    },
    {
      when: 'the user lacks a group',
      plan: () => planUser({ name: 'admin', groups: ['ssh-users'] }, admin),
      commands: ['usermod --append --groups ssh-users -- admin'],
      reason: /add to ssh-users/,
    },
    {
      when: 'the user is as desired',
      plan: () => planUser({ name: 'admin', groups: ['ssh-users'] }, { ...admin, groups: ['admin', 'ssh-users'] }),
      commands: [],
      reason: /^user admin exists in ssh-users$/,
    },
  ]);

  it('when getent and id answer, then the user is parsed; no entry is null', () => {
    assert.deepEqual(
      userFact('admin').parse({
        code: 0,
        stdout: 'admin:x:1000:1000::/home/admin:/bin/bash\nadmin ssh-users\n',
        stderr: '',
      }),
      { ...admin, groups: ['admin', 'ssh-users'] },
    );
    assert.equal(userFact('ghost').parse({ code: 0, stdout: '', stderr: '' }), null);
  });
});

describe('command with a changed rule', () => {
  const desired = { argv: ['install', '-m', '0600', '--', '/a', '/b'], unless: ['test', '-s', '/b'] };
  planTable([
    {
      when: 'its probe fails',
      plan: () => planCommand(desired, false),
      commands: ['install -m 0600 -- /a /b'],
      reason: /`test -s \/b` fails/,
    },
    {
      when: 'its probe succeeds',
      plan: () => planCommand(desired, true),
      commands: [],
      reason: /^`test -s \/b` succeeds$/,
    },
  ]);
});

describe('unified diff', () => {
  it('when lines change far apart, then each change is its own hunk with 3 lines of context', () => {
    const before = 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n';
    const after = 'a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n';
    assert.equal(
      unifiedDiff('/x', before, after),
      '--- /x\n+++ /x (desired)\n@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n@@ -9,3 +9,4 @@\n i\n j\n k\n+l\n',
    );
  });
});
