import { probeSucceeds } from '../facts/command.js';
import type { Operation, Plan } from './operation.js';
import { change, noop, run } from './operation.js';

export interface CommandDesired {
  argv: string[];
  /**
   * The explicit "changed" rule: a probe that succeeds when the command is not needed (e.g.
   * `test -s /etc/ssh/host_keys/ssh_host_ed25519_key`). The command runs, and counts as a change,
   * only when the probe fails.
   */
  unless: string[];
}

export function planCommand(desired: CommandDesired, probeSucceeded: boolean): Plan {
  if (probeSucceeded) return noop(`\`${desired.unless.join(' ')}\` succeeds`);
  return change(`\`${desired.unless.join(' ')}\` fails: run \`${desired.argv.join(' ')}\``, [run(...desired.argv)]);
}

/** A command run only when its probe says it is needed. */
export function command(desired: CommandDesired): Operation<boolean> {
  return { fact: probeSucceeds(desired.unless), plan: (succeeded) => planCommand(desired, succeeded) };
}
