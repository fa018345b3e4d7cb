import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { commandLine } from '../../../provision/core/shell.js';
import { sysctlFact, type SysctlFact } from '../../../provision/facts/sysctl.js';
import { parseSysctlConf, planSysctl, sysctl } from '../../../provision/operations/sysctl.js';
import { writeLine } from './plan-table.js';
import { sysctlHardeningSource } from '../../../provision/roles/common/files.js';

const path = '/etc/sysctl.d/60-test.conf';
const content = '# hardening\nnet.ipv4.tcp_syncookies = 1\nnet.ipv4.conf.all.rp_filter=1\n';
const desired = { path, content };
const file = (text: string, extra: Partial<NonNullable<SysctlFact['file']>> = {}): SysctlFact['file'] => ({
  owner: 'root',
  group: 'root',
  mode: 0o644,
  content: text,
  ...extra,
});
const live = (syncookies: string, rpFilter: string) =>
  new Map([
    ['net.ipv4.tcp_syncookies', syncookies],
    ['net.ipv4.conf.all.rp_filter', rpFilter],
  ]);
const install = writeLine(path, content);

describe('sysctl operation', () => {
  const rows: { when: string; fact: SysctlFact; commands: string[]; reason: RegExp }[] = [
    {
      when: 'the file is absent and the kernel already has the values (a container created with them)',
      fact: { file: null, live: live('1', '1') },
      commands: [install],
      reason: /^create \/etc\/sysctl\.d\/60-test\.conf$/,
    },
    {
      when: 'the file is absent and a value differs',
      fact: { file: null, live: live('1', '0') },
      commands: [install, 'sysctl -q -w net.ipv4.conf.all.rp_filter=1'],
      reason: /create .*; set net\.ipv4\.conf\.all\.rp_filter 0 → 1$/,
    },
    {
      when: 'the file is right but a value was changed at runtime',
      fact: { file: file(content), live: live('0', '1') },
      commands: ['sysctl -q -w net.ipv4.tcp_syncookies=1'],
      reason: /^set net\.ipv4\.tcp_syncookies 0 → 1$/,
    },
    {
      when: 'the file has other content',
      fact: { file: file('net.ipv4.tcp_syncookies = 0\n'), live: live('1', '1') },
      commands: [install],
      reason: /^update the content of /,
    },
    {
      when: 'the file has the wrong mode',
      fact: { file: file(content, { mode: 0o600 }), live: live('1', '1') },
      commands: [`chown root:root -- ${path}`, `chmod 0644 -- ${path}`],
      reason: /owner root:root, mode 0644/,
    },
    {
      when: 'the file and the kernel are right',
      fact: { file: file(content), live: live('1', '1') },
      commands: [],
      reason: /^\/etc\/sysctl\.d\/60-test\.conf is up to date and the kernel has its 2 values$/,
    },
  ];
  for (const row of rows) {
    it(`when ${row.when}, then ${row.commands.length === 0 ? 'nothing is needed' : row.commands.join(' ; ')}`, () => {
      const plan = planSysctl(desired, row.fact);
      assert.deepEqual(
        plan.commands.map((command) => commandLine(command.argv)),
        row.commands,
      );
      assert.equal(plan.changed, row.commands.length > 0);
      assert.match(plan.reason, row.reason);
    });
  }

  it('when the file is written, then its content goes as stdin and the diff is shown', () => {
    const plan = planSysctl(desired, { file: file('net.ipv4.tcp_syncookies = 0\n'), live: live('1', '1') });
    assert.equal(plan.commands[0]?.stdin, content);
    assert.match(plan.diff ?? '', /^-net\.ipv4\.tcp_syncookies = 0$/m);
  });

  it('when the kernel has no such key, then planning fails naming it', () => {
    assert.throws(
      () => planSysctl(desired, { file: null, live: new Map([['net.ipv4.tcp_syncookies', '1']]) }),
      /the kernel has no net\.ipv4\.conf\.all\.rp_filter \(from \/etc\/sysctl\.d\/60-test\.conf\)/,
    );
  });

  it('when a line is not "key = value" or the path is not in /etc/sysctl.d, then it fails before anything runs', () => {
    assert.throws(
      () => sysctl({ path, content: 'net.ipv4.tcp_syncookies 1\n' }),
      /60-test\.conf:1: not a "key = value" line/,
    );
    assert.throws(() => sysctl({ path: '/etc/sysctl.conf', content }), /not a file of \/etc\/sysctl\.d/);
  });

  it('when values have runs of whitespace (ranges), then they compare as sysctl prints them', () => {
    assert.deepEqual(
      [...parseSysctlConf('net.ipv4.ip_local_port_range =  32768 \t 60999\n')],
      [['net.ipv4.ip_local_port_range', '32768 60999']],
    );
  });

  it('when the probe answers, then the file and the live values are parsed (a key the kernel lacks is absent)', () => {
    const fact = sysctlFact(path, ['net.ipv4.tcp_syncookies', 'net.ipv4.nope']);
    assert.deepEqual(fact.command.slice(3), ['sh', path, 'net/ipv4/tcp_syncookies', 'net/ipv4/nope']);
    const parsed = fact.parse({
      code: 0,
      stdout: `file root|root|644\ncontent ${Buffer.from(content).toString('base64')}\nkey net/ipv4/tcp_syncookies 1\nkey net/ipv4/ip_local_port_range 32768 60999\n`,
      stderr: '',
    });
    assert.deepEqual(parsed.file, file(content));
    assert.deepEqual(
      [...parsed.live],
      [
        ['net.ipv4.tcp_syncookies', '1'],
        ['net.ipv4.ip_local_port_range', '32768 60999'],
      ],
    );
    assert.deepEqual(fact.parse({ code: 0, stdout: '', stderr: '' }), { file: null, live: new Map() });
  });

  it("when the common role's hardening file is read, then it sets network (per-namespace) keys only, which a container can be created with", () => {
    const values = parseSysctlConf(readFileSync(sysctlHardeningSource, 'utf8'));
    assert.ok(values.size >= 10);
    for (const key of values.keys()) assert.match(key, /^net\./);
  });
});
