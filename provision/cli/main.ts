// npm run provision -- <inventory name|path> [--check] [--diff] [--limit host|group] [--tags role]
//   [--parallel N] [--json] [--identity FILE] [--known-hosts FILE] [--trust-new-host-keys]
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Bastion, type HostConnection } from '../connectors/ssh.js';
import { converge, unreachable, type HostRecap, type PlannedRole, type TaskReport } from '../core/runner.js';
import { hostsOf, InventoryError, limitHosts, loadInventory, resolveInventoryPath, type Host } from '../inventories/schema.js';
import { rolesOf } from '../roles/index.js';

const usage = 'usage: npm run provision -- <inventory name|path> [--check] [--diff] [--limit host|group] [--tags role] [--parallel N] [--json] [--identity FILE] [--known-hosts FILE] [--trust-new-host-keys]';

function options() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      check: { type: 'boolean', default: false },
      diff: { type: 'boolean', default: false },
      limit: { type: 'string' },
      tags: { type: 'string' },
      parallel: { type: 'string', default: '10' },
      json: { type: 'boolean', default: false },
      identity: { type: 'string', default: process.env.PROVISION_SSH_KEY ?? path.join(homedir(), '.ssh', 'id_ed25519') },
      'known-hosts': { type: 'string', default: process.env.PROVISION_KNOWN_HOSTS ?? path.join(homedir(), '.ssh', 'known_hosts') },
      'trust-new-host-keys': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const parallel = Number(values.parallel);
  if (values.help || positionals.length !== 1 || !Number.isInteger(parallel) || parallel < 1) throw new UsageError(usage);
  const [inventory = ''] = positionals;
  if (!existsSync(values.identity)) throw new UsageError(`no private key at ${values.identity} (--identity or PROVISION_SSH_KEY)`);
  return { ...values, parallel, inventory };
}

class UsageError extends Error {}

const statusWord: Record<TaskReport['status'], string> = { ok: 'ok', changed: 'changed', failed: 'FAILED' };

/** Runs `worker` over `items`, at most `limit` at a time, results in input order. */
async function pool<T, R>(items: T[], limit: number, worker: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await worker(items[index] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}

function printRecap(recaps: HostRecap[], write: (line: string) => void): void {
  write('\nRECAP');
  const width = Math.max(...recaps.map((recap) => recap.host.length));
  for (const recap of recaps) {
    write(
      `${recap.host.padEnd(width)}  ${recap.status.toUpperCase().padEnd(11)} ok=${recap.ok} changed=${recap.changed} failed=${recap.failed} unreachable=${recap.status === 'unreachable' ? 1 : 0}  ${recap.seconds.toFixed(1)}s${recap.error ? `  ${recap.error.kind}: ${recap.error.message}` : ''}`,
    );
  }
}

async function main(): Promise<number> {
  const opts = options();
  const inventory = loadInventory(resolveInventoryPath(opts.inventory));
  const hosts = limitHosts(hostsOf(inventory), opts.limit);
  const tags = opts.tags?.split(',').map((tag) => tag.trim());
  // Every host's tasks are built (and its vars checked) before anything connects.
  const plans = new Map<string, PlannedRole[]>(hosts.map((host) => [host.name, rolesOf(host, tags).map((role) => ({ role, tasks: role.tasks(host) }))]));

  // With --json the recap is stdout's only content: progress goes to stderr.
  const progress = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
  const started = performance.now();
  progress(`${opts.check ? 'CHECK' : 'CONVERGE'} ${inventory.file}: ${hosts.map((host) => host.name).join(', ')} through ${inventory.bastion.user}@${inventory.bastion.host}:${inventory.bastion.port}`);

  const ssh = {
    identityFile: opts.identity,
    knownHostsFile: opts['known-hosts'],
    trustNewHostKeys: opts['trust-new-host-keys'],
    onPinned: (name: string, fingerprint: string) => progress(`pinned the new host key of ${name}: ${fingerprint} (in ${opts['known-hosts']})`),
  };
  let bastion: Bastion | undefined;
  let recaps: HostRecap[] = [];
  try {
    bastion = await Bastion.connect({ name: 'bastion', ...inventory.bastion, address: inventory.bastion.host }, ssh);
  } catch (error) {
    progress(`bastion: ${error instanceof Error ? error.message : String(error)}`);
    recaps = hosts.map((host) => unreachable(host, error, 0));
  }
  if (bastion) {
    const through = bastion;
    recaps = await pool(hosts, opts.parallel, async (host: Host) => {
      const hostStarted = performance.now();
      let connection: HostConnection;
      try {
        connection = await through.host({ name: host.name, address: host.address, port: host.port, user: inventory.user });
      } catch (error) {
        const recap = unreachable(host, error, (performance.now() - hostStarted) / 1000);
        progress(`[${host.name}] ${recap.status.toUpperCase()}: ${recap.error?.message ?? ''}`);
        return recap;
      }
      try {
        return await converge(connection, host, plans.get(host.name) ?? [], {
          check: opts.check,
          onTask: (report) => {
            progress(`[${report.host}] ${statusWord[report.status].padEnd(7)} ${report.role}: ${report.task} — ${report.reason} (${report.ms} ms)`);
            if (opts.diff && report.diff) progress(report.diff.trimEnd());
          },
        });
      } finally {
        connection.close();
      }
    });
    bastion.close();
  }

  const seconds = (performance.now() - started) / 1000;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ inventory: inventory.file, check: opts.check, seconds, hosts: recaps }, null, 2)}\n`);
  } else {
    printRecap(recaps, progress);
    progress(`${recaps.length} hosts in ${seconds.toFixed(1)}s`);
  }
  return recaps.some((recap) => recap.status === 'failed' || recap.status === 'unreachable') ? 2 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof InventoryError || error instanceof UsageError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
