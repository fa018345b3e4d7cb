import type { Fact } from './fact.js';
import { lines } from './fact.js';

export interface ServiceFact {
  /** LoadState: "loaded", "not-found", "masked". */
  load: string;
  /** UnitFileState, as `systemctl is-enabled` says it: "enabled", "disabled", "static", "masked", "". */
  enabled: string;
  /** ActiveState, as `systemctl is-active` says it: "active", "inactive", "failed", "activating". */
  active: string;
  /**
   * The unit's last start attempt's condition check (ConditionResult): `met: false` when systemd
   * skipped the start. `conditions` are the unit's ("ConditionCapability=CAP_SYS_TIME"), `unmet` the one
   * that failed; systemd forgets which after a daemon-reload (then `unmet` is empty). null when no start
   * was attempted since systemd loaded the unit. Absent: not probed.
   */
  condition?: { met: boolean; conditions: string[]; unmet: string[] } | null;
}

/**
 * A unit name as a D-Bus object path label (sd-bus's bus_label_escape): every byte but ASCII letters,
 * and digits after the first, as _xx.
 */
export function busLabel(unit: string): string {
  if (unit === '') return '_';
  return [...Buffer.from(unit, 'utf8')]
    .map((byte, index) => {
      const char = String.fromCharCode(byte);
      return /[A-Za-z]/.test(char) || (index > 0 && /[0-9]/.test(char))
        ? char
        : `_${byte.toString(16).padStart(2, '0')}`;
    })
    .join('');
}

// The unit is $1, its D-Bus object path $2: never part of the script. busctl (the unit's Conditions,
// which `systemctl show` cannot print) is optional: without it, an unmet condition is not named.
const serviceScript = `systemctl show --property=LoadState,UnitFileState,ActiveState,ConditionResult,ConditionTimestampMonotonic -- "$1"
busctl --json=short get-property org.freedesktop.systemd1 "$2" org.freedesktop.systemd1.Unit Conditions 2>/dev/null
exit 0`;

/** busctl's a(sbbsi): type, trigger (|), negate (!), parameter, state (> 0 met, < 0 unmet, 0 not checked). */
type BusCondition = [string, boolean, boolean, string, number];

function parseConditions(json: string | undefined): { conditions: string[]; unmet: string[] } {
  let data: BusCondition[] = [];
  try {
    if (json !== undefined) data = (JSON.parse(json) as { data: BusCondition[] }).data;
  } catch {
    // Not busctl's JSON: the conditions stay unknown.
  }
  const named = data.map(([type, trigger, negate, parameter, state]) => ({
    name: `${type}=${trigger ? '|' : ''}${negate ? '!' : ''}${parameter}`,
    state,
  }));
  return {
    conditions: named.map(({ name }) => name),
    unmet: named.filter(({ state }) => state < 0).map(({ name }) => name),
  };
}

/**
 * A unit's load, enablement, activity and last condition check (`systemctl show` answers for missing
 * units too). systemd forgets the condition check of a unit nothing references (a disabled one it
 * unloads), so `condition` is only kept for enabled units, which is what `service` needs.
 */
export function serviceFact(unit: string): Fact<ServiceFact> {
  return {
    name: `service ${unit}`,
    command: ['sh', '-c', serviceScript, 'sh', unit, `/org/freedesktop/systemd1/unit/${busLabel(unit)}`],
    parse: ({ stdout }) => {
      const output = lines(stdout);
      const properties = new Map(
        output
          .filter((line) => line.includes('=') && !line.startsWith('{'))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      const checked = Number(properties.get('ConditionTimestampMonotonic') ?? '0') > 0;
      return {
        load: properties.get('LoadState') ?? '',
        enabled: properties.get('UnitFileState') ?? '',
        active: properties.get('ActiveState') ?? '',
        condition: checked
          ? {
              met: properties.get('ConditionResult') === 'yes',
              ...parseConditions(output.find((line) => line.startsWith('{'))),
            }
          : null,
      };
    },
  };
}

/** What `unitService` (operations/systemd.ts) needs: the unit's state and the file it was loaded from. */
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
    command: [
      'systemctl',
      'show',
      '--property=LoadState,UnitFileState,ActiveState,SubState,FragmentPath,NeedDaemonReload',
      '--',
      unit,
    ],
    parse: ({ stdout }) => {
      const properties = new Map(
        lines(stdout).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
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
