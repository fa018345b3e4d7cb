import { performance } from 'node:perf_hooks';
import { Bastion, type HostConnection, type SshOptions } from '../connectors/ssh.js';
import type { Host, LoadedInventory } from '../inventories/schema.js';
import { rolesOf } from '../roles/index.js';
import { pool } from '../cli/pool.js';
import { converge, unreachable, type HostRecap, type PlannedRole, type TaskReport } from './runner.js';

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
  check: boolean;
  onTask?: (report: TaskReport) => void;
  onProgress?: (line: string) => void;
}

/** A role refused a host's vars (or the inventory around it): nothing has connected yet. */
export class PlayError extends Error {
  override name = 'PlayError';
}

/** Every host's roles and tasks, built (and their vars checked) before anything connects. */
export function planPlay(options: Pick<PlayOptions, 'inventory' | 'hosts' | 'allHosts' | 'tags'>): Map<string, PlannedRole[]> {
  const play = { hosts: options.allHosts, bastion: options.inventory.bastion};
  const problems: string[] = [];
  const plans = new Map<string, PlannedRole[]>();
  for (const host of options.hosts) {
    const planned: PlannedRole[] = [];
    for (const role of rolesOf(host, options.tags ? [...options.tags] : undefined)) {
      try {
        planned.push({ role, tasks: role.tasks(host, play) });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        problems.push(message.startsWith('host ') ? message : `host ${host.name}: role ${role.name}: ${message}`);
      }
    }
    plans.set(host.name, planned);
  }
  if (problems.length > 0) throw new PlayError(`${options.inventory.file}: cannot plan (no host was touched)\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
  return plans;
}

/**
 * One SSH connection to the bastion, every host a channel through it, `parallel` hosts at a time.
 * A host that cannot be reached is reported unreachable while the others go on.
 */
export async function runPlay(options: PlayOptions): Promise<HostRecap[]> {
  const { inventory, plans } = options;
  let bastion: Bastion;
  try {
    bastion = await Bastion.connect({ name: 'bastion', ...inventory.bastion, address: inventory.bastion.host }, options.ssh);
  } catch (error) {
    options.onProgress?.(`bastion: ${error instanceof Error ? error.message : String(error)}`);
    return options.hosts.map((host) => unreachable(host, error, 0));
  }
  try {
    return await pool(options.hosts, options.parallel, async (host) => {
      const started = performance.now();
      let connection: HostConnection;
      try {
        connection = await bastion.host({ name: host.name, address: host.address, port: host.port, user: inventory.user });
      } catch (error) {
        const recap = unreachable(host, error, (performance.now() - started) / 1000);
        options.onProgress?.(`[${host.name}] ${recap.status.toUpperCase()}: ${recap.error?.message ?? ''}`);
        return recap;
      }
      try {
        return await converge(connection, host, plans.get(host.name) ?? [], { check: options.check, ...(options.onTask ? { onTask: options.onTask } : {}) });
      } finally {
        connection.close();
      }
    });
  } finally {
    bastion.close();
  }
}
