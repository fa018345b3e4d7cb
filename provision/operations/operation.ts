import type { Fact } from '../facts/fact.js';

/** One command of a plan: an argument vector (quoted by the connector), with optional stdin. */
export interface Command {
  argv: string[];
  stdin?: string | Buffer;
}

/** What an operation would do to reach its desired state from the facts it was given. */
export interface Plan {
  commands: Command[];
  changed: boolean;
  /** Why nothing is needed ("package openssh-server is installed"), or what will change. */
  reason: string;
  /** A unified diff of the file content it changes, for --diff. */
  diff?: string;
}

/** Desired state bound to the fact it needs: the runner reads the fact, then plans (purely) and applies. */
export interface Operation<F> {
  fact: Fact<F>;
  plan(fact: F): Plan;
}

export function noop(reason: string): Plan {
  return { commands: [], changed: false, reason };
}

export function change(reason: string, commands: Command[], diff?: string): Plan {
  return { commands, changed: true, reason, ...(diff === undefined ? {} : { diff }) };
}

export const run = (...argv: string[]): Command => ({ argv });
