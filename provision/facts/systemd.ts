import type { Fact } from './fact.js';
import { lines } from './fact.js';

export interface ServiceFact {
  /** LoadState: "loaded", "not-found", "masked". */
  load: string;
  /** UnitFileState, as `systemctl is-enabled` says it: "enabled", "disabled", "static", "masked", "". */
  enabled: string;
  /** ActiveState, as `systemctl is-active` says it: "active", "inactive", "failed", "activating". */
  active: string;
}

/** A unit's load, enablement and activity (`systemctl show` answers for missing units too). */
export function serviceFact(unit: string): Fact<ServiceFact> {
  return {
    name: `service ${unit}`,
    command: ['systemctl', 'show', '--property=LoadState,UnitFileState,ActiveState', '--', unit],
    parse: ({ stdout }) => {
      const properties = new Map(lines(stdout).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      return { load: properties.get('LoadState') ?? '', enabled: properties.get('UnitFileState') ?? '', active: properties.get('ActiveState') ?? '' };
    },
  };
}
