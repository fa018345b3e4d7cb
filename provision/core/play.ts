import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { Bastion, type HostConnection, type SshOptions } from '../connectors/ssh.js';
import type { Host, LoadedInventory } from '../inventories/schema.js';
import { PlanInputs, neededInputs } from '../roles/inputs.js';
import { playOf, rolesOf } from '../roles/index.js';
import { pool } from './pool.js';
import { converge, skipped, unreachable, type HostRecap, type PlannedRole, type TaskReport } from './runner.js';
import { batches, batchStops, Rolls, type SerialStep } from './serial.js';

export interface PlayOptions {
  inventory: LoadedInventory;
  /** From planPlay: planned first so a bad var stops the run before anything connects. */
  plans: Map<string, PlannedRole[]>;
  /** The hosts to converge (after --limit); roles still see every host of the inventory. */
  hosts: readonly Host[];
  allHosts: readonly Host[];
  tags?: readonly string[] | undefined;
  ssh: SshOptions;
  parallel: number;
  /** Ansible's serial: the hosts in batches, each finished (handlers included) before the next starts. */
  serial?: readonly SerialStep[] | undefined;
  /** Ansible's max_fail_percentage: a batch with a larger share of failed hosts stops the play. */
  maxFailPercentage?: number | undefined;
  /** Roles or hosts whose disruptive handlers (a database restart) may run: --allow-restart. */
  allowRestart?: readonly string[] | undefined;
  check: boolean;
  onTask?: (report: TaskReport) => void;
  onProgress?: (line: string) => void;
}

/** A role refused a host's vars (or the inventory around it): nothing has connected yet. */
export class PlayError extends Error {
  override name = 'PlayError';
}

/** The host's own consent to disruptive handlers: its var `allow_restart`, a list of role names. */
const allowRestartVar = z.array(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a role name')).default([]);

export function hostAllowsRestart(host: Host): string[] {
  const parsed = allowRestartVar.safeParse(host.vars.allow_restart);
  if (!parsed.success)
    throw new Error(
      `host ${host.name}: vars.allow_restart: ${parsed.error.issues.map((issue) => issue.message).join('; ')} (a list of role names)`,
    );
  return parsed.data;
}

type PlanOptions = Pick<PlayOptions, 'inventory' | 'hosts' | 'allHosts' | 'tags'>;

const selectedRoles = (tags: PlanOptions['tags']) => (host: Host) => rolesOf(host, tags ? [...tags] : undefined);

/** What the hosts' roles read (repo files, trees, releases), read (and built) before planning. */
export function preparePlay(options: PlanOptions): Promise<PlanInputs> {
  const play = playOf(options.allHosts, options.inventory.bastion);
  return PlanInputs.prepare(neededInputs(options.hosts, play, selectedRoles(options.tags)));
}

/** Every host's roles and tasks, built (and their vars checked) from the prepared inputs, before anything connects. */
export function planPlay(options: PlanOptions & { inputs: PlanInputs }): Map<string, PlannedRole[]> {
  const play = { ...playOf(options.allHosts, options.inventory.bastion), inputs: options.inputs };
  const problems: string[] = [];
  const plans = new Map<string, PlannedRole[]>();
  for (const host of options.hosts) {
    const planned: PlannedRole[] = [];
    try {
      hostAllowsRestart(host);
    } catch (error) {
      problems.push((error as Error).message);
    }
    for (const role of selectedRoles(options.tags)(host)) {
      try {
        planned.push({ role, tasks: role.tasks(host, play) });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        problems.push(message.startsWith('host ') ? message : `host ${host.name}: role ${role.name}: ${message}`);
      }
    }
    plans.set(host.name, planned);
  }
  if (problems.length > 0)
    throw new PlayError(
      `${options.inventory.file}: cannot plan (no host was touched)\n${problems.map((problem) => `  ${problem}`).join('\n')}`,
    );
  return plans;
}

/**
 * One SSH connection to the bastion, every host a channel through it, `parallel` hosts at a time, in
 * `serial` batches (each finished before the next starts; one that fails more than
 * `maxFailPercentage` stops the play), a rolling role's hosts one roll at a time. A host that
 * cannot be reached is reported unreachable while the others go on.
 */
export async function runPlay(options: PlayOptions): Promise<HostRecap[]> {
  const { inventory, plans } = options;
  let bastion: Bastion;
  try {
    bastion = await Bastion.connect(
      { name: 'bastion', ...inventory.bastion, address: inventory.bastion.host },
      options.ssh,
    );
  } catch (error) {
    options.onProgress?.(`bastion: ${error instanceof Error ? error.message : String(error)}`);
    return options.hosts.map((host) => unreachable(host, error, 0));
  }
  const rolling = new Map<string, number>();
  for (const planned of plans.values())
    for (const { role } of planned) if (role.serial !== undefined) rolling.set(role.name, role.serial);
  const rolls = new Rolls(rolling);
  const allowed = new Set(options.allowRestart ?? []);

  const converged = async (host: Host): Promise<HostRecap> => {
    const planned = plans.get(host.name) ?? [];
    const place = await rolls.enter(
      host.name,
      planned.map(({ role }) => role.name),
    );
    if ('stopped' in place) {
      options.onProgress?.(`[${host.name}] SKIPPED: ${place.stopped}`);
      return skipped(host, place.stopped);
    }
    const started = performance.now();
    let recap: HostRecap | undefined;
    try {
      let connection: HostConnection;
      const connectStarted = performance.now();
      try {
        connection = await bastion.host({
          name: host.name,
          address: host.address,
          port: host.port,
          user: inventory.user,
        });
      } catch (error) {
        recap = unreachable(host, error, (performance.now() - started) / 1000);
        options.onProgress?.(`[${host.name}] ${recap.status.toUpperCase()}: ${recap.error?.message ?? ''}`);
        return recap;
      }
      try {
        const own = hostAllowsRestart(host);
        const allowDisruptive = (role: string) => allowed.has(role) || allowed.has(host.name) || own.includes(role);
        const connected = performance.now() - connectStarted;
        recap = await converge(connection, host, planned, {
          check: options.check,
          allowDisruptive,
          ...(options.onTask ? { onTask: options.onTask } : {}),
        });
        recap = {
          ...recap,
          seconds: recap.seconds + connected / 1000,
          ...(recap.phases ? { phases: { ...recap.phases, connect: Math.round(connected) } } : {}),
        };
        return recap;
      } finally {
        connection.close();
      }
    } finally {
      place.release(recap === undefined || recap.status === 'failed' || recap.status === 'unreachable');
    }
  };

  try {
    const recaps = new Map<string, HostRecap>();
    const groups = batches(options.hosts, options.serial ?? []);
    let stop: string | undefined;
    for (const [index, batch] of groups.entries()) {
      if (stop !== undefined) {
        for (const host of batch) recaps.set(host.name, skipped(host, stop));
        continue;
      }
      if (groups.length > 1)
        options.onProgress?.(`BATCH ${index + 1}/${groups.length}: ${batch.map((host) => host.name).join(', ')}`);
      const results = await pool(batch, options.parallel, converged);
      for (const recap of results) recaps.set(recap.host, recap);
      const failed = results.filter((recap) => recap.status === 'failed' || recap.status === 'unreachable').length;
      const why = batchStops(failed, batch.length, options.maxFailPercentage);
      if (why !== null && index < groups.length - 1) {
        stop = `the play stopped after batch ${index + 1}: ${why}`;
        options.onProgress?.(`STOPPED: ${stop}`);
      }
    }
    return options.hosts.map((host) => recaps.get(host.name) ?? skipped(host, stop ?? 'not run'));
  } finally {
    bastion.close();
  }
}
