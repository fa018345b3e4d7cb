import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PlanError } from '../../../provision/core/errors.js';
import { probeSucceeds } from '../../../provision/facts/command.js';
import { combineFacts } from '../../../provision/facts/fact.js';
import { fileFact } from '../../../provision/facts/files.js';
import type { ServiceFact } from '../../../provision/facts/systemd.js';
import { busLabel, serviceFact } from '../../../provision/facts/systemd.js';
import { timerFact } from '../../../provision/facts/timer.js';
import { planService, planUnitFile, unitFile } from '../../../provision/operations/systemd.js';
import type { TimerDesired } from '../../../provision/operations/timer.js';
import { planTimer, renderTimerUnits, systemdArgument, timer } from '../../../provision/operations/timer.js';
import { planTable, regularFileFact, sha256 as sha, writeLine } from './plan-table.js';

const unitFileFact = regularFileFact;

describe('service whose start condition is unmet', () => {
  const chrony = { unit: 'chrony.service', enabled: true, running: true };
  const skipped = (condition: ServiceFact['condition'], enabled = 'enabled'): ServiceFact => ({
    load: 'loaded',
    enabled,
    active: 'inactive',
    condition,
  });
  const capability = {
    met: false,
    conditions: ['ConditionCapability=CAP_SYS_TIME'],
    unmet: ['ConditionCapability=CAP_SYS_TIME'],
  };
  planTable([
    {
      when: 'systemd skipped it for a capability the host lacks (chrony in a container)',
      plan: () => planService(chrony, skipped(capability)),
      commands: [],
      reason:
        /^service chrony\.service is enabled and not running: its start condition is unmet on this host \(ConditionCapability=CAP_SYS_TIME\)$/,
    },
    {
      when: 'systemd forgot which condition failed (a daemon-reload since) and every condition is about the host',
      plan: () => planService(chrony, skipped({ ...capability, unmet: [] })),
      commands: [],
      reason: /not running: its start condition is unmet on this host \(ConditionCapability=CAP_SYS_TIME\)$/,
    },
    {
      when: 'no start was attempted since the unit was loaded',
      plan: () => planService(chrony, skipped(null)),
      commands: ['systemctl start -- chrony.service'],
      reason: /^start chrony\.service \(enabled, inactive\)$/,
    },
    {
      when: 'it is disabled and was never started (a first run: attempt it once)',
      plan: () => planService(chrony, skipped(null, 'disabled')),
      commands: ['systemctl enable -- chrony.service', 'systemctl start -- chrony.service'],
      reason: /^enable and start chrony\.service/,
    },
    {
      when: 'it was skipped but must now be enabled too',
      plan: () => planService(chrony, skipped(capability, 'disabled')),
      commands: ['systemctl enable -- chrony.service'],
      reason: /^enable chrony\.service \(disabled, inactive\); not running: its start condition is unmet on this host/,
    },
    {
      when: 'it was skipped for a path a task may since have created',
      plan: () =>
        planService(
          { unit: 'app.service', running: true },
          skipped({
            met: false,
            conditions: ['ConditionPathExists=/etc/app.conf'],
            unmet: ['ConditionPathExists=/etc/app.conf'],
          }),
        ),
      commands: ['systemctl start -- app.service'],
      reason:
        /^start app\.service \(enabled, inactive; its start condition was unmet at the last attempt \(ConditionPathExists=\/etc\/app\.conf\)\)$/,
    },
    {
      when: 'systemd forgot which failed and one condition is a path',
      plan: () =>
        planService(
          { unit: 'app.service', running: true },
          skipped({
            met: false,
            conditions: ['ConditionCapability=CAP_NET_ADMIN', 'ConditionPathExists=/etc/app.conf'],
            unmet: [],
          }),
        ),
      commands: ['systemctl start -- app.service'],
      reason: /^start app\.service/,
    },
    {
      when: 'its conditions were met at the last start but it stopped since',
      plan: () => planService(chrony, skipped({ met: true, conditions: capability.conditions, unmet: [] })),
      commands: ['systemctl start -- chrony.service'],
      reason: /^start chrony\.service \(enabled, inactive\)$/,
    },
    {
      when: 'it must be stopped and was skipped anyway',
      plan: () => planService({ unit: 'chrony.service', running: false }, skipped(capability)),
      commands: [],
      reason: /^service chrony\.service is enabled and inactive$/,
    },
  ]);

  it('when systemctl show and busctl answer (outputs of a Debian trixie container), then the condition check is parsed', () => {
    const stdout = (result: string, since: string, json: string) =>
      `LoadState=loaded\nActiveState=inactive\nUnitFileState=enabled\nConditionResult=${result}\nConditionTimestampMonotonic=${since}\n${json}\n`;
    const parse = (text: string) => serviceFact('chrony.service').parse({ code: 0, stdout: text, stderr: '' });
    assert.deepEqual(
      parse(
        stdout(
          'no',
          '8112428667',
          '{"type":"a(sbbsi)","data":[["ConditionCapability",false,false,"CAP_SYS_TIME",-1]]}',
        ),
      ),
      skipped(capability),
    );
    assert.deepEqual(
      parse(
        stdout(
          'yes',
          '8099295074',
          '{"type":"a(sbbsi)","data":[["ConditionPathExists",false,true,"/etc/ssh/sshd_not_to_be_run",1]]}',
        ),
      ).condition,
      { met: true, conditions: ['ConditionPathExists=!/etc/ssh/sshd_not_to_be_run'], unmet: [] },
    );
    assert.equal(parse(stdout('no', '0', '{"type":"a(sbbsi)","data":[]}')).condition, null, 'never attempted');
    assert.deepEqual(
      parse(stdout('no', '5', 'not json')).condition,
      { met: false, conditions: [], unmet: [] },
      'no busctl',
    );
  });

  it('when a unit name becomes a D-Bus object path, then it is escaped as sd-bus escapes it', () => {
    assert.equal(busLabel('chrony.service'), 'chrony_2eservice');
    assert.equal(busLabel('systemd-timesyncd.service'), 'systemd_2dtimesyncd_2eservice');
    assert.equal(busLabel('1x@a.service'), '_31x_40a_2eservice');
  });
});

describe('unit file', () => {
  const content = '[Unit]\nDescription=API\n';
  const write = writeLine('/etc/systemd/system/api.service', content);
  planTable([
    {
      when: 'it is absent',
      plan: () => planUnitFile({ name: 'api.service', content }, null),
      commands: [write, 'systemctl daemon-reload'],
      reason: /^create \/etc\/systemd\/system\/api\.service, then reload systemd$/,
    },
    {
      when: 'its content differs',
      plan: () => planUnitFile({ name: 'api.service', content }, unitFileFact('[Unit]\n')),
      commands: [write, 'systemctl daemon-reload'],
      reason: /update the content .*, then reload systemd$/,
    },
    {
      when: 'only its mode differs',
      plan: () => planUnitFile({ name: 'api.service', content }, unitFileFact(content, { mode: 0o600 })),
      commands: ['chmod 0644 -- /etc/systemd/system/api.service'],
      reason: /mode 0600 → 0644$/,
    },
    {
      when: 'it is up to date',
      plan: () => planUnitFile({ name: 'api.service', content }, unitFileFact(content)),
      commands: [],
      reason: /^\/etc\/systemd\/system\/api\.service is up to date/,
    },
    {
      when: 'a drop-in is absent',
      plan: () =>
        planUnitFile({ name: 'nginx.service.d/10-limits.conf', content: '[Service]\nLimitNOFILE=65536\n' }, null),
      commands: [
        writeLine('/etc/systemd/system/nginx.service.d/10-limits.conf', '[Service]\nLimitNOFILE=65536\n'),
        'systemctl daemon-reload',
      ],
      reason: /then reload systemd/,
    },
  ]);

  it('when the name is not a unit file name, then it is refused before anything connects', () => {
    for (const name of ['api', '../api.service', 'api.service; rm', '/etc/systemd/system/api.service'])
      assert.throws(() => unitFile({ name, content }), PlanError, name);
  });
});

describe('systemd timer', () => {
  const desired: TimerDesired = {
    name: 'db-backup',
    description: 'Back up the database (100% of it)',
    command: ['/usr/local/bin/db-backup', '--to', '/var/backups/db dumps', 'it\'s "quoted"', '$HOME', 'a\\b'],
    user: 'postgres',
    onCalendar: '*-*-* 03:00:00',
    persistent: true,
    randomizedDelaySec: 600,
  };
  const units = renderTimerUnits(desired);
  const upToDate = {
    service: unitFileFact(units.service),
    timer: unitFileFact(units.timer),
    unit: { load: 'loaded', enabled: 'enabled', active: 'active', condition: null },
  };
  const writeService = writeLine('/etc/systemd/system/db-backup.service', units.service);
  const writeTimer = writeLine('/etc/systemd/system/db-backup.timer', units.timer);

  it('when rendered, then the service is a oneshot run as the user and the timer says when', () => {
    assert.equal(
      units.service,
      [
        '# Written by the provisioner (provision/operations/timer.ts): edits here are overwritten.',
        '[Unit]',
        'Description=Back up the database (100%% of it)',
        '',
        '[Service]',
        'Type=oneshot',
        'User=postgres',
        'ExecStart=/usr/local/bin/db-backup --to "/var/backups/db dumps" "it\'s \\"quoted\\"" $$HOME "a\\\\b"',
        '',
      ].join('\n'),
    );
    assert.equal(
      units.timer,
      [
        '# Written by the provisioner (provision/operations/timer.ts): edits here are overwritten.',
        '[Unit]',
        'Description=Back up the database (100%% of it) (timer)',
        '',
        '[Timer]',
        'OnCalendar=*-*-* 03:00:00',
        'Persistent=true',
        'RandomizedDelaySec=600',
        '',
        '[Install]',
        'WantedBy=timers.target',
        '',
      ].join('\n'),
    );
    assert.doesNotMatch(
      renderTimerUnits({ ...desired, persistent: false, randomizedDelaySec: undefined }).timer,
      /Persistent|RandomizedDelaySec/,
    );
  });

  planTable([
    {
      when: 'nothing is installed yet',
      plan: () =>
        planTimer(desired, {
          service: null,
          timer: null,
          unit: { load: 'not-found', enabled: '', active: 'inactive', condition: null },
        }),
      commands: [
        writeService,
        writeTimer,
        'systemctl daemon-reload',
        'systemctl enable -- db-backup.timer',
        'systemctl start -- db-backup.timer',
      ],
      reason:
        /^create \/etc\/systemd\/system\/db-backup\.service, create \/etc\/systemd\/system\/db-backup\.timer, reload systemd, enable db-backup\.timer, start db-backup\.timer$/,
    },
    {
      when: 'everything is as desired',
      plan: () => planTimer(desired, upToDate),
      commands: [],
      reason: /^timer db-backup\.timer is enabled and active \(\*-\*-\* 03:00:00\), its units up to date$/,
    },
    {
      when: 'the schedule changed (an active timer recomputes it on the reload)',
      plan: () => planTimer({ ...desired, onCalendar: 'daily' }, upToDate),
      commands: [
        writeLine('/etc/systemd/system/db-backup.timer', renderTimerUnits({ ...desired, onCalendar: 'daily' }).timer),
        'systemctl daemon-reload',
      ],
      reason: /^update the content of \/etc\/systemd\/system\/db-backup\.timer, reload systemd$/,
    },
    {
      when: 'the command changed',
      plan: () => planTimer({ ...desired, command: ['/usr/local/bin/db-backup'] }, upToDate),
      commands: [
        writeLine(
          '/etc/systemd/system/db-backup.service',
          renderTimerUnits({ ...desired, command: ['/usr/local/bin/db-backup'] }).service,
        ),
        'systemctl daemon-reload',
      ],
      reason: /db-backup\.service, reload systemd$/,
    },
    {
      when: 'only a unit file mode differs',
      plan: () => planTimer(desired, { ...upToDate, timer: unitFileFact(units.timer, { mode: 0o600 }) }),
      commands: ['chmod 0644 -- /etc/systemd/system/db-backup.timer'],
      reason: /mode 0600 → 0644$/,
    },
    {
      when: 'the timer was disabled and stopped by hand',
      plan: () =>
        planTimer(desired, { ...upToDate, unit: { ...upToDate.unit, enabled: 'disabled', active: 'inactive' } }),
      commands: ['systemctl enable -- db-backup.timer', 'systemctl start -- db-backup.timer'],
      reason: /^enable db-backup\.timer, start db-backup\.timer$/,
    },
  ]);

  it('when the schedule changes, then the plan carries the diff of the timer file', () => {
    assert.match(
      planTimer({ ...desired, onCalendar: 'daily' }, upToDate).diff ?? '',
      /^-OnCalendar=\*-\*-\* 03:00:00\n\+OnCalendar=daily$/m,
    );
  });

  const invalid: { when: string; change: Partial<TimerDesired>; message: RegExp }[] = [
    {
      when: 'the program is not an absolute path',
      change: { command: ['pg_dump'] },
      message: /program must be an absolute path/,
    },
    { when: 'the command is empty', change: { command: [] }, message: /program must be an absolute path/ },
    {
      when: 'an argument holds a newline',
      change: { command: ['/bin/echo', 'a\nExecStartPost=/bin/evil'] },
      message: /control character/,
    },
    {
      when: 'the user is not a login name',
      change: { user: 'root; rm' },
      message: /user "root; rm" is not a POSIX login name/,
    },
    {
      when: 'the calendar holds a newline',
      change: { onCalendar: 'daily\n[Service]' },
      message: /onCalendar .* is not a calendar event/,
    },
    { when: 'the name is not a unit name', change: { name: '../x' }, message: /name "\.\.\/x" is not a unit name/ },
    {
      when: 'the delay is not a positive integer',
      change: { randomizedDelaySec: -1 },
      message: /randomizedDelaySec -1/,
    },
    { when: 'the description spans lines', change: { description: 'a\nb' }, message: /one non-empty line/ },
  ];
  for (const { when, change, message } of invalid) {
    it(`when ${when}, then the timer is refused before anything connects`, () => {
      assert.throws(
        () => timer({ ...desired, ...change }),
        (error: unknown) => error instanceof PlanError && message.test(error.message),
      );
    });
  }

  it('when an argument is plain, then systemd reads it as it is; otherwise quoted, with % and $ doubled', () => {
    assert.equal(systemdArgument('/usr/bin/pg_dump'), '/usr/bin/pg_dump');
    assert.equal(systemdArgument('--format=custom'), '--format=custom');
    assert.equal(systemdArgument('%d'), '%%d');
    assert.equal(systemdArgument(''), '""');
    assert.equal(systemdArgument(';'), '";"');
  });

  it('when its fact is read, then one probe returns both files and the timer state', () => {
    const fact = timerFact('db-backup');
    assert.deepEqual(fact.command.slice(0, 2), ['sh', '-c']);
    const stat = `regular file|root|root|644|${units.service.length}\n${sha(units.service)}\n${Buffer.from(units.service).toString('base64')}`;
    const stdout = [
      stat,
      '--8<-- refereezy fact 0',
      '',
      '--8<-- refereezy fact 0',
      'LoadState=loaded\nActiveState=active\nUnitFileState=enabled\nConditionResult=yes\nConditionTimestampMonotonic=0\n{"type":"a(sbbsi)","data":[]}\n',
      '--8<-- refereezy fact 0',
      '',
    ].join('\n');
    const parsed = fact.parse({ code: 0, stdout, stderr: '' });
    assert.equal(parsed.service?.content, units.service);
    assert.equal(parsed.timer, null);
    assert.deepEqual(parsed.unit, { load: 'loaded', enabled: 'enabled', active: 'active', condition: null });
  });
});

describe('facts combined in one probe', () => {
  it('when the probe runs (here, in a local sh), then each fact parses its own output and exit code', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'combined-fact-'));
    try {
      const withNewline = path.join(dir, 'a');
      const without = path.join(dir, 'b');
      writeFileSync(withNewline, 'one\ntwo\n');
      writeFileSync(without, 'no newline');
      const fact = combineFacts('test', {
        a: fileFact(withNewline),
        b: fileFact(without),
        missing: fileFact(path.join(dir, 'missing')),
        fails: probeSucceeds(['test', '-e', path.join(dir, 'missing')]),
        succeeds: probeSucceeds(['test', '-e', withNewline]),
      });
      const [program = '', ...args] = fact.command;
      const result = spawnSync(program, args, { encoding: 'utf8' });
      const parsed = fact.parse({ code: result.status, stdout: result.stdout, stderr: result.stderr });
      assert.equal(parsed.a?.content, 'one\ntwo\n');
      assert.equal(parsed.b?.content, 'no newline');
      assert.equal(parsed.missing, null);
      assert.equal(parsed.fails, false);
      assert.equal(parsed.succeeds, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
