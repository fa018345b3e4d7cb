import { PlanError } from '../core/errors.js';
import { isLoginName } from '../validation/validators.js';
import type { TimerFact } from '../facts/timer.js';
import { timerFact } from '../facts/timer.js';
import { contentDiffers, planFile } from './files.js';
import type { Command, Operation, Plan } from './operation.js';
import { change, noop, run } from './operation.js';
import { daemonReload, unitPath } from './systemd.js';

export interface TimerDesired {
  /** The units' name: <name>.service (what runs) and <name>.timer (when). */
  name: string;
  description: string;
  /** What the service runs: an argument vector, the program an absolute path (quoted for systemd here). */
  command: string[];
  /** The user it runs as. */
  user: string;
  /** A systemd.time(7) calendar event: "daily", "*-*-* 03:00:00", "Mon..Fri 04:30". */
  onCalendar: string;
  /** Catch up at boot on a run missed while the host was off. */
  persistent?: boolean;
  /** Spread the start over up to this many seconds, so hosts do not all start at once. */
  randomizedDelaySec?: number;
}

const timerName = /^[a-z0-9][a-z0-9_.@-]*$/;
const calendar = /^[A-Za-z0-9 *:,./~+-]+$/;
const hasControlCharacter = (text: string) =>
  Array.from({ length: text.length }, (_, index) => text.charCodeAt(index)).some(
    (code) => code < 0x20 || code === 0x7f,
  );

/**
 * One argument as systemd's ExecStart= reads it back (systemd.service(5), "Command lines"): `%` and `$`
 * doubled (specifiers, variables), double-quoted with C escapes unless plainly safe.
 */
export function systemdArgument(argument: string): string {
  if (hasControlCharacter(argument))
    throw new PlanError('', `a command argument cannot contain a control character: ${JSON.stringify(argument)}`);
  const literal = argument.replaceAll('%', '%%').replaceAll('$', '$$$$');
  if (/^[A-Za-z0-9_/.,:=@%$+-]+$/.test(literal)) return literal;
  return `"${literal.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** The <name>.service and <name>.timer files, rendered. */
export function renderTimerUnits(desired: TimerDesired): { service: string; timer: string } {
  const problems: string[] = [];
  if (!timerName.test(desired.name))
    problems.push(`name ${JSON.stringify(desired.name)} is not a unit name (lower-case letters, digits, _ . @ -)`);
  if (!isLoginName(desired.user)) problems.push(`user ${JSON.stringify(desired.user)} is not a POSIX login name`);
  if (!calendar.test(desired.onCalendar))
    problems.push(`onCalendar ${JSON.stringify(desired.onCalendar)} is not a calendar event`);
  if (hasControlCharacter(desired.description) || desired.description === '')
    problems.push('the description is one non-empty line');
  const [program] = desired.command;
  if (program === undefined || !program.startsWith('/'))
    problems.push(`the command's program must be an absolute path (got ${JSON.stringify(program ?? '')})`);
  const delay = desired.randomizedDelaySec;
  if (delay !== undefined && (!Number.isInteger(delay) || delay < 1))
    problems.push(`randomizedDelaySec ${delay} is not a positive number of seconds`);
  if (problems.length > 0) throw new PlanError('', `timer ${JSON.stringify(desired.name)}: ${problems.join('; ')}`);
  const description = desired.description.replaceAll('%', '%%');
  const managed = '# Written by the provisioner (provision/operations/timer.ts): edits here are overwritten.';
  const service = [
    managed,
    '[Unit]',
    `Description=${description}`,
    '',
    '[Service]',
    'Type=oneshot',
    `User=${desired.user}`,
    `ExecStart=${desired.command.map(systemdArgument).join(' ')}`,
    '',
  ];
  const timer = [
    managed,
    '[Unit]',
    `Description=${description} (timer)`,
    '',
    '[Timer]',
    `OnCalendar=${desired.onCalendar}`,
    ...(desired.persistent ? ['Persistent=true'] : []),
    ...(delay === undefined ? [] : [`RandomizedDelaySec=${delay}`]),
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ];
  return { service: service.join('\n'), timer: timer.join('\n') };
}

/**
 * The two unit files written (the file operation's plans), systemd reloaded when either content
 * changed (an active timer then recomputes its next run), the timer enabled and started.
 */
export function planTimer(desired: TimerDesired, current: TimerFact): Plan {
  const units = renderTimerUnits(desired);
  const files = [
    { path: unitPath(`${desired.name}.service`), content: units.service, mode: '0644' },
    { path: unitPath(`${desired.name}.timer`), content: units.timer, mode: '0644' },
  ] as const;
  const plans = [planFile(files[0], current.service), planFile(files[1], current.timer)];
  const commands: Command[] = plans.flatMap((plan) => plan.commands);
  const what = plans.filter((plan) => plan.changed).map((plan) => plan.reason);
  if (contentDiffers(files[0], current.service) || contentDiffers(files[1], current.timer)) {
    commands.push(daemonReload);
    what.push('reload systemd');
  }
  const unit = `${desired.name}.timer`;
  if (!['enabled', 'enabled-runtime'].includes(current.unit.enabled)) {
    commands.push(run('systemctl', 'enable', '--', unit));
    what.push(`enable ${unit}`);
  }
  if (current.unit.active !== 'active') {
    commands.push(run('systemctl', 'start', '--', unit));
    what.push(`start ${unit}`);
  }
  if (commands.length === 0)
    return noop(`timer ${unit} is enabled and active (${desired.onCalendar}), its units up to date`);
  const diff = plans.map((plan) => plan.diff ?? '').join('');
  return change(what.join(', '), commands, diff === '' ? undefined : diff);
}

/** A command run by a systemd timer: <name>.service (Type=oneshot) and <name>.timer, enabled and active. */
export function timer(desired: TimerDesired): Operation<TimerFact> {
  renderTimerUnits(desired);
  return { fact: timerFact(desired.name), plan: (current) => planTimer(desired, current) };
}
