import { PlanError } from '../core/errors.js';
import type { FileFact } from '../facts/files.js';
import { fileFact } from '../facts/files.js';
import type { ServiceFact, UnitServiceFact } from '../facts/systemd.js';
import { serviceFact, unitServiceFact } from '../facts/systemd.js';
import { contentDiffers, planFile } from './files.js';
import type { Command, Operation, Plan } from './operation.js';
import { change, noop, run } from './operation.js';

export interface ServiceDesired {
  unit: string;
  /** Started at boot; undefined leaves it as it is. */
  enabled?: boolean;
  /** Running now; undefined leaves it as it is. */
  running?: boolean;
}

/**
 * Conditions that describe the machine itself (what it is, what the kernel lets it do): no task can
 * meet them, so a unit systemd skipped for one of them stays skipped, and that is the desired state on
 * this host (chrony in a container: ConditionCapability=CAP_SYS_TIME). A unit skipped for any other
 * condition (a path a later task may create, a user, the environment) is started again.
 */
const hostConditions = new Set([
  'ConditionACPower',
  'ConditionArchitecture',
  'ConditionCapability',
  'ConditionControlGroupController',
  'ConditionCPUFeature',
  'ConditionCPUs',
  'ConditionFirmware',
  'ConditionFirstBoot',
  'ConditionHost',
  'ConditionKernelCommandLine',
  'ConditionKernelVersion',
  'ConditionMemory',
  'ConditionOSRelease',
  'ConditionSecurity',
  'ConditionVirtualization',
]);

/** The conditions that failed, or (systemd forgot which, after a daemon-reload) those that may have. */
const suspects = (condition: { conditions: string[]; unmet: string[] }) =>
  condition.unmet.length > 0 ? condition.unmet : condition.conditions;

/** Whether systemd skipped the unit's last start for a condition this host can never meet. */
function skippedOnThisHost(current: ServiceFact): boolean {
  if (!current.condition || current.condition.met) return false;
  // None known (no busctl): systemd said no, and starting again would only say no again.
  return suspects(current.condition).every((condition) =>
    hostConditions.has(condition.slice(0, condition.indexOf('='))),
  );
}

function unmetNote(current: ServiceFact): string {
  const names = current.condition ? suspects(current.condition) : [];
  return `its start condition is unmet on this host${names.length > 0 ? ` (${names.join(', ')})` : ''}`;
}

export function planService(desired: ServiceDesired, current: ServiceFact): Plan {
  const commands: Command[] = [];
  const what: string[] = [];
  const enabled = current.enabled === 'enabled' || current.enabled === 'enabled-runtime' || current.enabled === 'alias';
  if (desired.enabled === true && !enabled) {
    commands.push(run('systemctl', 'enable', '--', desired.unit));
    what.push('enable');
  } else if (desired.enabled === false && enabled) {
    commands.push(run('systemctl', 'disable', '--', desired.unit));
    what.push('disable');
  }
  const running = current.active === 'active' || current.active === 'reloading';
  // Attempted once (by this operation or the package's own start); after that, an unmet host condition is the answer.
  const skipped = desired.running === true && !running && skippedOnThisHost(current);
  if (desired.running === true && !running && !skipped) {
    commands.push(run('systemctl', 'start', '--', desired.unit));
    what.push('start');
  } else if (desired.running === false && running) {
    commands.push(run('systemctl', 'stop', '--', desired.unit));
    what.push('stop');
  }
  if (commands.length === 0) {
    if (skipped)
      return noop(
        `service ${desired.unit} is ${current.enabled || 'not installed'} and not running: ${unmetNote(current)}`,
      );
    return noop(`service ${desired.unit} is ${current.enabled || 'not installed'} and ${current.active}`);
  }
  const retry =
    current.condition?.met === false && what.includes('start')
      ? `; its start condition was unmet at the last attempt (${suspects(current.condition).join(', ')})`
      : '';
  const state =
    current.load === 'not-found'
      ? 'not installed yet'
      : `${current.enabled || 'no unit file'}, ${current.active}${retry}`;
  return change(
    `${what.join(' and ')} ${desired.unit} (${state})${skipped ? `; not running: ${unmetNote(current)}` : ''}`,
    commands,
  );
}

/** A systemd unit enabled and/or running, or not. */
export function service(desired: ServiceDesired): Operation<ServiceFact> {
  return { fact: serviceFact(desired.unit), plan: (current) => planService(desired, current) };
}

export const systemdUnitDirectory = '/etc/systemd/system';

/** "api.service", "backup.timer", or a drop-in "nginx.service.d/10-limits.conf". */
const unitName = /^[A-Za-z0-9:_.@-]+\.(service|socket|timer|target|path|mount|slice)(\.d\/[A-Za-z0-9:_.@-]+\.conf)?$/;

export interface UnitFileDesired {
  /** The unit's file name under /etc/systemd/system: "api.service", or a drop-in "api.service.d/10-env.conf". */
  name: string;
  content: string;
  sensitive?: boolean;
}

export function unitPath(name: string): string {
  if (!unitName.test(name))
    throw new PlanError(
      '',
      `"${name}" is not a systemd unit file name (name.service, name.timer, …, or name.service.d/x.conf)`,
    );
  return `${systemdUnitDirectory}/${name}`;
}

/** systemd reads unit files only when told to. */
export const daemonReload = run('systemctl', 'daemon-reload');

/**
 * A unit file, and `systemctl daemon-reload` right after its content changes. The reload is an
 * inline step of the same plan, not a handler: handlers run at the end of the host's run, and the
 * tasks after this one (`service({ running: true })`, a timer) must already see the new unit.
 * Restarting the service on a change is the role's own handler (notify it from this task).
 */
export function planUnitFile(desired: UnitFileDesired, current: FileFact | null): Plan {
  const path = unitPath(desired.name);
  const file = { path, content: desired.content, mode: '0644', ...(desired.sensitive ? { sensitive: true } : {}) };
  const plan = planFile(file, current);
  if (!contentDiffers(file, current)) return plan;
  return { ...plan, commands: [...plan.commands, daemonReload], reason: `${plan.reason}, then reload systemd` };
}

/** A unit file under /etc/systemd/system; systemd reloaded when its content changes. */
export function unitFile(desired: UnitFileDesired): Operation<FileFact | null> {
  const path = unitPath(desired.name);
  return { fact: fileFact(path, { content: !desired.sensitive }), plan: (current) => planUnitFile(desired, current) };
}

/**
 * A service enabled and running from the unit file it must be loaded from, its process up. Made for
 * a unit in /etc that replaces a packaged one of the same name (postgresql.service over Debian's
 * umbrella): systemd's NeedDaemonReload does not notice a new file that overrides another, hence the
 * fragment check, and the umbrella, a oneshot that "exited", counts as active (`service` would leave
 * it so), hence the SubState check: only a process that runs is running.
 */
export interface UnitServiceDesired {
  unit: string;
  /** The unit file it must be loaded from. */
  fragment: string;
}

export function planUnitService(desired: UnitServiceDesired, current: UnitServiceFact): Plan {
  const commands: Command[] = [];
  const what: string[] = [];
  const stale: string[] = [];
  if (current.needDaemonReload) stale.push('its unit files changed');
  if (current.fragment !== desired.fragment)
    stale.push(`it is loaded from ${current.fragment || 'nowhere'}, not ${desired.fragment}`);
  if (stale.length > 0) {
    commands.push(run('systemctl', 'daemon-reload'));
    what.push(`reload systemd (${stale.join('; ')})`);
  }
  if (!['enabled', 'enabled-runtime', 'alias'].includes(current.enabled)) {
    commands.push(run('systemctl', 'enable', '--', desired.unit));
    what.push('enable');
  }
  const running = current.active === 'active' && current.sub === 'running';
  if (!running) {
    commands.push(run('systemctl', 'restart', '--', desired.unit));
    what.push(`start (${current.active}${current.sub ? `/${current.sub}` : ''})`);
  } else if (stale.length > 0) {
    // The running process was started from the old unit: only a restart applies the new one.
    commands.push(run('systemctl', 'restart', '--', desired.unit));
    what.push('restart with the new unit');
  }
  if (commands.length === 0) return noop(`service ${desired.unit} is enabled and running from ${current.fragment}`);
  return change(`${desired.unit}: ${what.join(', ')}`, commands);
}

/** A service enabled, and running (its process up) from this unit file. */
export function unitService(desired: UnitServiceDesired): Operation<UnitServiceFact> {
  return { fact: unitServiceFact(desired.unit), plan: (current) => planUnitService(desired, current) };
}
