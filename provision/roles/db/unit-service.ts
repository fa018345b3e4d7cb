import type { Fact } from '../../facts/fact.js';
import { lines } from '../../facts/fact.js';
import type { Command, Operation, Plan } from '../../operations/operation.js';
import { change, noop, run } from '../../operations/operation.js';

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

export interface UnitServiceFact {
  load: string;
  enabled: string;
  active: string;
  /** "running" for a started service; "exited" for a oneshot that ran. */
  sub: string;
  fragment: string;
  needDaemonReload: boolean;
}

export function unitServiceFact(unit: string): Fact<UnitServiceFact> {
  return {
    name: `service ${unit}`,
    command: ['systemctl', 'show', '--property=LoadState,UnitFileState,ActiveState,SubState,FragmentPath,NeedDaemonReload', '--', unit],
    parse: ({ stdout }) => {
      const properties = new Map(lines(stdout).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      const get = (name: string) => properties.get(name) ?? '';
      return {
        load: get('LoadState'),
        enabled: get('UnitFileState'),
        active: get('ActiveState'),
        sub: get('SubState'),
        fragment: get('FragmentPath'),
        needDaemonReload: get('NeedDaemonReload') === 'yes',
      };
    },
  };
}

export function planUnitService(desired: UnitServiceDesired, current: UnitServiceFact): Plan {
  const commands: Command[] = [];
  const what: string[] = [];
  const stale: string[] = [];
  if (current.needDaemonReload) stale.push('its unit files changed');
  if (current.fragment !== desired.fragment) stale.push(`it is loaded from ${current.fragment || 'nowhere'}, not ${desired.fragment}`);
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
