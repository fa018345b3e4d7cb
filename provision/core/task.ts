import type { Fact } from '../facts/fact.js';
import type { Command, Operation } from '../operations/operation.js';

/** One task of a role: a sentence, an operation with its desired state, handlers it notifies on change. */
export interface Task {
  name: string;
  operation: Operation<unknown>;
  notify?: string[];
}

/** Commands run once at the end of a host's run when a task notified them. */
export interface Handler {
  name: string;
  commands: Command[];
  /**
   * Asked on the host before the handler runs (probe, then act): whether it is still needed and
   * why ("settings that apply at start only changed: shared_buffers"). Without one it always runs.
   */
  needed?: Fact<{ needed: boolean; why: string }>;
  /**
   * It interrupts a service no other host provides (the only PostgreSQL): it runs only when the
   * operator allows it (`--allow-restart <role or host>`, or the host's var `allow_restart: [role]`).
   * Otherwise it stays pending on the host, and the recap says "restart pending" until a run that
   * allows it, or finds it no longer needed.
   */
  disruptive?: boolean;
}
