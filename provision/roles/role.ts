import type { Host } from '../inventories/schema.js';
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
}

export interface Role {
  name: string;
  /** The role's tasks for one host; throws (before anything connects) when the host's vars do not fit. */
  tasks(host: Host): Task[];
  handlers: Record<string, Handler>;
}
