// npm run bench:provision — how long provisioning takes: a lab of six EC2-like machines (the bastion
// and a host per role group), converged from scratch, then converged again, which must change nothing.
// Prints the seconds of each run and of each host in it; exits 1 when the second run changed anything
// (or either run failed). The machine's load is printed too: the figures mean little on a busy host.
import { loadavg, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { roleRegistry } from '../provision/roles/index.js';
import type { LabHost, ProvisionRun, StartedProvisionLab } from '../tests/support/provision-lab.js';
import { startProvisionLab } from '../tests/support/provision-lab.js';

/** One host per role group, as production lays them out; a group whose role is not registered is dropped. */
const layout: Record<string, string[]> = { web1: ['web'], web2: ['web'], api1: ['api'], db1: ['db'], mon1: ['monitoring'] };

// db hosts run without backups here (db_backups: false): the bench measures provisioning, not pgBackRest.
const hosts: Record<string, LabHost> = Object.fromEntries(
  Object.entries(layout).map(([name, groups]) => [name, { groups: groups.filter((group) => group in roleRegistry()), ...(groups.includes('db') ? { vars: { db_backups: false } } : {}) }]),
);
// What the roles need that the lab cannot guess (throwaway values: the lab lives for this run only).
const groups = {
  api: { firebase_project_id: 'refereezy-bench' },
  // No SMS leaves the lab: the notifier writes its texts to a file.
  monitoring: { alert_email_to: 'admins@refereezy.test', alert_smtp_from: 'alertmanager@refereezy.test', alert_smtp_smarthost: 'relay.refereezy.test:25', sms_provider: 'outbox' },
};
const secrets = { db_password: 'bench-db-password', db_monitor_password: 'bench-monitor-password', sms_recipients: ['+15550100001'] };

interface Timed {
  label: string;
  run: ProvisionRun;
  seconds: number;
}

const load = () => loadavg().map((value) => value.toFixed(1)).join(' ');

async function timed(lab: StartedProvisionLab, label: string, args: string[]): Promise<Timed> {
  const started = performance.now();
  process.stderr.write(`${label}…\n`);
  const run = await lab.provision(args);
  return { label, run, seconds: (performance.now() - started) / 1000 };
}

function table(runs: Timed[]): string {
  const names = runs[0]?.run.recap.hosts.map((recap) => recap.host) ?? [];
  const width = Math.max(4, ...names.map((name) => name.length));
  const cell = (text: string) => text.padStart(24);
  const rows = [
    `${'host'.padEnd(width)}${runs.map((timing) => cell(timing.label)).join('')}`,
    ...names.map((name) => {
      const cells = runs.map((timing) => {
        const recap = timing.run.recap.hosts.find((candidate) => candidate.host === name);
        return cell(recap ? `${recap.seconds.toFixed(1)} s  ${recap.status} ${recap.changed}/${recap.ok + recap.changed + recap.failed}` : '—');
      });
      return `${name.padEnd(width)}${cells.join('')}`;
    }),
    `${'run'.padEnd(width)}${runs.map((timing) => cell(`${timing.seconds.toFixed(1)} s  exit ${timing.run.code}`)).join('')}`,
  ];
  return rows.join('\n');
}

async function main(): Promise<number> {
  process.stderr.write(`starting the lab: bastion, ${Object.entries(hosts).map(([name, host]) => `${name} (${host.groups.join(', ') || 'common only'})`).join(', ')}; load ${load()} on ${cpus().length} CPUs\n`);
  const labStarted = performance.now();
  const lab = await startProvisionLab({ hosts, groups, secrets });
  try {
    const startSeconds = (performance.now() - labStarted) / 1000;
    const fresh = await timed(lab, 'fresh converge', []);
    const again = await timed(lab, 'no-op re-run', []);

    process.stdout.write(`\nprovisioning benchmark: ${fresh.run.recap.hosts.length} hosts, lab started in ${startSeconds.toFixed(1)} s, load ${load()} on ${cpus().length} CPUs\n`);
    process.stdout.write('per host: seconds, status, changed/tasks\n\n');
    process.stdout.write(`${table([fresh, again])}\n`);

    const failures = [fresh, again].flatMap((timing) => timing.run.recap.hosts.filter((recap) => recap.error).map((recap) => `${timing.label}: ${recap.host}: ${recap.error?.kind ?? ''}: ${recap.error?.message ?? ''}`));
    const changes = again.run.recap.hosts.flatMap((recap) => recap.tasks.filter((task) => task.status !== 'ok').map((task) => `${task.host} ${task.role}: ${task.task}: ${task.status}: ${task.reason}\n${task.diff ?? ''}`));
    if (failures.length > 0) process.stdout.write(`\nFAILED\n${failures.join('\n')}\n`);
    if (changes.length > 0) process.stdout.write(`\nthe re-run changed ${changes.length} task(s):\n${changes.join('\n')}\n`);
    if (failures.length > 0 || changes.length > 0) {
      process.stderr.write(`${await lab.logs()}\n`);
      return 1;
    }
    process.stdout.write('\nthe re-run changed nothing\n');
    return 0;
  } finally {
    await lab.stop();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
