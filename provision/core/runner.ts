import { performance } from 'node:perf_hooks';
import { ProvisionError } from './errors.js';
import type { Connector, RunResult } from './connector.js';
import { commandLine } from './shell.js';
import type { Host } from '../inventories/schema.js';
import type { Role, Task } from '../roles/role.js';
import { parsePendingKey, pendingHandlersFact, pendingKey, savePendingHandlers } from './pending-handlers.js';

/** 'pending': a disruptive handler that was needed and not allowed (a restart left for the operator). */
export type TaskStatus = 'ok' | 'changed' | 'failed' | 'pending';

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
  /** 'skipped': not started, because the play or the host's roll stopped (see error). */
  status: 'ok' | 'changed' | 'failed' | 'unreachable' | 'skipped';
  ok: number;
  changed: number;
  failed: number;
  /** Handlers that ran (or would, under --check). */
  handlers: string[];
  /** Disruptive handlers needed and not allowed, still pending on the host: "restart postgresql (…): run with --allow-restart db". */
  pending: string[];
  error?: { kind: string; message: string };
  seconds: number;
  /** Where the host's time went, in milliseconds (connect: the play's SSH handshake through the bastion). */
  phases?: Phases;
  /** Round trips to read facts (one for a host where nothing changes). */
  probes?: number;
  tasks: TaskReport[];
}

export interface Phases {
  connect: number;
  probe: number;
  plan: number;
  apply: number;
  handlers: number;
}

export interface RunOptions {
  /** Plan and report only: no command that changes the host runs. */
  check: boolean;
  /** Whether this host's run may run the role's disruptive handlers (--allow-restart). None by default. */
  allowDisruptive?: (role: string) => boolean;
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
 * once, at the end, so a changed config is never left without its reload. A notified handler is also
 * recorded on the host (pending-handlers.ts) before the task's commands run, and forgotten there only
 * once it succeeded: if the run dies first, the next run runs it. Reports carry argument vectors only,
 * never a command's stdin (where file contents and secrets travel).
 */
export async function converge(
  connection: Connector,
  host: Host,
  plan: PlannedRole[],
  options: RunOptions,
): Promise<HostRecap> {
  const started = performance.now();
  const phases: Phases = { connect: 0, probe: 0, plan: 0, apply: 0, handlers: 0 };
  const timed = async <T>(phase: keyof Phases, work: () => Promise<T>): Promise<T> => {
    const since = performance.now();
    try {
      return await work();
    } finally {
      phases[phase] += performance.now() - since;
    }
  };
  const steps = plan.flatMap(({ role, tasks }) => tasks.map((task) => ({ role, task })));
  /**
   * Facts read ahead, by task index: every task's probe in one round trip at first (a host where
   * nothing changes is done then). A change makes the facts read before it stale: they are dropped,
   * and the next ones are read a few at a time, twice as many each round while nothing changes.
   */
  const readAhead = new Map<number, RunResult>();
  let window = steps.length;
  let probes = 0;
  const factResult = async (index: number): Promise<RunResult> => {
    const cached = readAhead.get(index);
    if (cached) return cached;
    const count = Math.max(1, Math.min(window, steps.length - index));
    const results = await timed('probe', () =>
      connection.probe(steps.slice(index, index + count).map(({ task }) => task.operation.fact.command)),
    );
    probes++;
    results.forEach((result, offset) => readAhead.set(index + offset, result));
    window = count * 2;
    return results[0] as RunResult;
  };
  const applied = () => {
    readAhead.clear();
    window = 1;
  };
  const reports: TaskReport[] = [];
  /** Handlers to run at the end, in the order they were notified, by "<role>/<handler>". */
  const notified = new Map<string, { role: Role; name: string; pending: boolean }>();
  /** What the host's pending-handlers file holds (roles outside this run included: they stay there). */
  let onHost: string[] = [];
  let failure: { kind: string; message: string } | undefined;

  const record = (report: TaskReport) => {
    reports.push(report);
    options.onTask?.(report);
  };
  const failed = (role: string, task: string, error: unknown, commands: string[], since: number) => {
    if (error instanceof ProvisionError) {
      if (!error.host) error.host = host.name;
      error.role = role;
      error.task = task;
    }
    const described = describeError(error);
    failure ??= described;
    record({
      host: host.name,
      role,
      task,
      status: 'failed',
      reason: described.message,
      commands,
      errorKind: described.kind,
      ms: Math.round(performance.now() - since),
    });
  };
  const savePending = async (keys: string[]) => {
    if (options.check) return;
    for (const command of savePendingHandlers(keys))
      await connection.run(command.argv, command.stdin === undefined ? {} : { stdin: command.stdin });
    onHost = keys;
    // The pending-handlers file is no task's fact: the facts read ahead stay valid.
  };

  const readStarted = performance.now();
  try {
    // The pending handlers and every task's fact: one round trip.
    const [pendingResult, ...taskResults] = await timed('probe', () =>
      connection.probe([pendingHandlersFact.command, ...steps.map(({ task }) => task.operation.fact.command)]),
    );
    probes++;
    taskResults.forEach((result, index) => readAhead.set(index, result));
    onHost = pendingHandlersFact.parse(pendingResult as RunResult);
    const roles = new Map(plan.map(({ role }) => [role.name, role]));
    for (const key of onHost) {
      const pending = parsePendingKey(key);
      const role = pending && roles.get(pending.role);
      if (!pending || !role) continue;
      if (role.handlers[pending.handler]) {
        notified.set(key, { role, name: pending.handler, pending: true });
      } else {
        // Renamed or removed since: nothing can run it any more.
        await savePending(onHost.filter((candidate) => candidate !== key));
        record({
          host: host.name,
          role: role.name,
          task: `handler: ${pending.handler}`,
          status: 'ok',
          reason: `pending from an earlier run, but role ${role.name} has no such handler any more: forgotten`,
          commands: [],
          ms: 0,
        });
      }
    }
  } catch (error) {
    failed('provision', 'Read the handlers pending from an earlier run', error, [], readStarted);
  }

  for (const [index, { role, task }] of (failure ? [] : steps).entries()) {
    const taskStarted = performance.now();
    let commands: string[] = [];
    try {
      const probe = await factResult(index);
      const planStarted = performance.now();
      const planned = task.operation.plan(task.operation.fact.parse(probe));
      phases.plan += performance.now() - planStarted;
      commands = planned.commands.map((command) => commandLine(command.argv));
      const notifies = planned.changed ? (task.notify ?? []) : [];
      if (!options.check) {
        await timed('apply', async () => {
          // Recorded before the change is made: a run that dies half-way still leaves the handler due.
          const due = notifies
            .filter((name) => role.handlers[name])
            .map((handler) => pendingKey({ role: role.name, handler }));
          const fresh = due.filter((key) => !onHost.includes(key));
          if (fresh.length > 0) await savePending([...onHost, ...fresh]);
          if (planned.commands.length > 0) applied();
          for (const command of planned.commands)
            await connection.run(command.argv, command.stdin === undefined ? {} : { stdin: command.stdin });
        });
      }
      for (const name of notifies) {
        const key = pendingKey({ role: role.name, handler: name });
        if (!notified.has(key)) notified.set(key, { role, name, pending: false });
      }
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
      failed(role.name, task.name, error, commands, taskStarted);
      break;
    }
  }

  const handlersStarted = performance.now();
  const leftPending: string[] = [];
  for (const [key, { role, name, pending }] of notified) {
    const handler = role.handlers[name];
    const taskStarted = performance.now();
    const commands = handler?.commands.map((command) => commandLine(command.argv)) ?? [];
    const earlier = pending ? ' (pending from an earlier run)' : '';
    const report = (status: TaskStatus, reason: string, ran: string[]) =>
      record({
        host: host.name,
        role: role.name,
        task: `handler: ${name}`,
        status,
        reason,
        commands: ran,
        ms: Math.round(performance.now() - taskStarted),
      });
    try {
      if (!handler) throw new Error(`role ${role.name} has no handler "${name}"`);
      let why = '';
      if (handler.needed) {
        const answer = handler.needed.parse(await connection.run(handler.needed.command, { check: false }));
        if (!answer.needed) {
          if (!options.check && onHost.includes(key))
            await savePending(onHost.filter((candidate) => candidate !== key));
          report('ok', `${name}${earlier}: not needed: ${answer.why}`, []);
          continue;
        }
        why = ` (${answer.why})`;
      }
      if (handler.disruptive && !(options.allowDisruptive?.(role.name) ?? false)) {
        // Left in the host's pending file (recorded when it was notified): a later run that allows it runs it.
        const message = `${name}${why}: run with --allow-restart ${role.name}`;
        leftPending.push(message);
        report('pending', `restart pending: ${message}${earlier}; ${role.name} keeps running as it is`, []);
        continue;
      }
      if (!options.check) {
        for (const command of handler.commands)
          await connection.run(command.argv, command.stdin === undefined ? {} : { stdin: command.stdin });
        if (onHost.includes(key)) await savePending(onHost.filter((candidate) => candidate !== key));
      }
      report('changed', `${options.check ? 'would run' : 'ran'} ${name}${why}${earlier}`, commands);
    } catch (error) {
      failed(role.name, `handler: ${name}`, error, commands, taskStarted);
    }
  }

  phases.handlers = performance.now() - handlersStarted;
  const count = (status: TaskStatus) => reports.filter((report) => report.status === status).length;
  return {
    host: host.name,
    status: failure ? 'failed' : count('changed') > 0 ? 'changed' : 'ok',
    ok: count('ok'),
    changed: count('changed'),
    failed: count('failed'),
    handlers: [...notified.values()].map(({ name }) => name),
    pending: leftPending,
    ...(failure ? { error: failure } : {}),
    seconds: (performance.now() - started) / 1000,
    phases: roundPhases(phases),
    probes,
    tasks: reports,
  };
}

function roundPhases(phases: Phases): Phases {
  return {
    connect: Math.round(phases.connect),
    probe: Math.round(phases.probe),
    plan: Math.round(phases.plan),
    apply: Math.round(phases.apply),
    handlers: Math.round(phases.handlers),
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
    pending: [],
    error: described,
    seconds,
    tasks: [],
  };
}

/** A host the play did not start: its batch came after one that stopped the play, or its role's roll stopped. */
export function skipped(host: Host, why: string): HostRecap {
  return {
    host: host.name,
    status: 'skipped',
    ok: 0,
    changed: 0,
    failed: 0,
    handlers: [],
    pending: [],
    error: { kind: 'skipped', message: `not started: ${why}` },
    seconds: 0,
    tasks: [],
  };
}
