import type { ServiceFact } from '../facts/systemd.js';
import { serviceFact } from '../facts/systemd.js';
import type { Command, Operation, Plan } from './operation.js';
import { change, noop, run } from './operation.js';

export interface ServiceDesired {
  unit: string;
  /** Started at boot; undefined leaves it as it is. */
  enabled?: boolean;
  /** Running now; undefined leaves it as it is. */
  running?: boolean;
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
  if (desired.running === true && !running) {
    commands.push(run('systemctl', 'start', '--', desired.unit));
    what.push('start');
  } else if (desired.running === false && running) {
    commands.push(run('systemctl', 'stop', '--', desired.unit));
    what.push('stop');
  }
  if (commands.length === 0) return noop(`service ${desired.unit} is ${current.enabled || 'not installed'} and ${current.active}`);
  return change(`${what.join(' and ')} ${desired.unit} (${current.load === 'not-found' ? 'not installed yet' : `${current.enabled || 'no unit file'}, ${current.active}`})`, commands);
}

/** A systemd unit enabled and/or running, or not. */
export function service(desired: ServiceDesired): Operation<ServiceFact> {
  return { fact: serviceFact(desired.unit), plan: (current) => planService(desired, current) };
}
