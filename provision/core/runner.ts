import { performance } from 'node:perf_hooks';
import { ProvisionError } from '../connectors/errors.js';
import type { HostConnection } from '../connectors/ssh.js';
import { commandLine } from '../connectors/shell.js';
import type { Host } from '../inventories/schema.js';
import type { Role, Task } from '../roles/role.js';

export type TaskStatus = 'ok' | 'changed' | 'failed';

export interface TaskReport {
  host: string;
  role: string;
  task: string;
  status: TaskStatus;
  /** Why nothing was needed, what changed (or would, under --check), or why it failed. */
  reason: string;
  commands: string[];
  diff?: string;
  /** "command", "sudo", "network", … when it failed. */
  errorKind?: string;
  ms: number;
}

export interface HostRecap {
  host: string;
  status: 'ok' | 'changed' | 'failed' | 'unreachable';
  ok: number;
  changed: number;
  failed: number;
  /** Handlers that ran (or would, under --check). */
  handlers: string[];
  error?: { kind: string; message: string };
  seconds: number;
  tasks: TaskReport[];
}

export interface RunOptions {
  /** Plan and report only: no command that changes the host runs. */
  check: boolean;
  onTask?: (report: TaskReport) => void;
}

export interface PlannedRole {
  role: Role;
  tasks: Task[];
}

function describeError(error: unknown): { kind: string; message: string } {
  if (error instanceof ProvisionError) return { kind: error.kind, message: error.describe() };
  return { kind: 'internal', message: error instanceof Error ? error.message : String(error) };
}

/**
 * Converges one host: for each task, read its fact, plan (purely), and apply the plan's commands
 * unless checking. The first failure ends the host's tasks; handlers notified until then still run
 * once, at the end, so a changed config is never left without its reload.
 */
export async function converge(connection: HostConnection, host: Host, plan: PlannedRole[], options: RunOptions): Promise<HostRecap> {
  const started = performance.now();
  const reports: TaskReport[] = [];
  const notified = new Map<string, Role>();
  let failure: { kind: string; message: string } | undefined;

  const record = (report: TaskReport) => {
    reports.push(report);
    options.onTask?.(report);
  };

  outer: for (const { role, tasks } of plan) {
    for (const task of tasks) {
      const taskStarted = performance.now();
      let commands: string[] = [];
      try {
        const probe = await connection.run(task.operation.fact.command, { check: false });
        const planned = task.operation.plan(task.operation.fact.parse(probe));
        commands = planned.commands.map((command) => commandLine(command.argv));
        if (!options.check) {
          for (const command of planned.commands) await connection.run(command.argv, command.stdin === undefined ? {} : { stdin: command.stdin });
        }
        if (planned.changed) for (const handler of task.notify ?? []) notified.set(handler, role);
        record({
          host: host.name,
          role: role.name,
          task: task.name,
          status: planned.changed ? 'changed' : 'ok',
          reason: planned.reason,
          commands,
          ...(planned.diff ? { diff: planned.diff } : {}),
          ms: Math.round(performance.now() - taskStarted),
        });
      } catch (error) {
        if (error instanceof ProvisionError) {
          error.role = role.name;
          error.task = task.name;
        }
        failure = describeError(error);
        record({ host: host.name, role: role.name, task: task.name, status: 'failed', reason: failure.message, commands, errorKind: failure.kind, ms: Math.round(performance.now() - taskStarted) });
        break outer;
      }
    }
  }

  for (const [name, role] of notified) {
    const handler = role.handlers[name];
    const taskStarted = performance.now();
    const commands = handler?.commands.map((command) => commandLine(command.argv)) ?? [];
    try {
      if (!handler) throw new Error(`role ${role.name} has no handler "${name}"`);
      if (!options.check) for (const command of handler.commands) await connection.run(command.argv);
      record({ host: host.name, role: role.name, task: `handler: ${name}`, status: 'changed', reason: options.check ? `would run ${name}` : `ran ${name}`, commands, ms: Math.round(performance.now() - taskStarted) });
    } catch (error) {
      if (error instanceof ProvisionError) {
        error.role = role.name;
        error.task = `handler: ${name}`;
      }
      const described = describeError(error);
      failure ??= described;
      record({ host: host.name, role: role.name, task: `handler: ${name}`, status: 'failed', reason: described.message, commands, errorKind: described.kind, ms: Math.round(performance.now() - taskStarted) });
    }
  }

  const count = (status: TaskStatus) => reports.filter((report) => report.status === status).length;
  return {
    host: host.name,
    status: failure ? 'failed' : count('changed') > 0 ? 'changed' : 'ok',
    ok: count('ok'),
    changed: count('changed'),
    failed: count('failed'),
    handlers: [...notified.keys()],
    ...(failure ? { error: failure } : {}),
    seconds: (performance.now() - started) / 1000,
    tasks: reports,
  };
}

/** A host that could not be reached or logged into: no task ran. */
export function unreachable(host: Host, error: unknown, seconds: number): HostRecap {
  const described = describeError(error);
  return {
    host: host.name,
    status: described.kind === 'network' ? 'unreachable' : 'failed',
    ok: 0,
    changed: 0,
    failed: described.kind === 'network' ? 0 : 1,
    handlers: [],
    error: described,
    seconds,
    tasks: [],
  };
}
