// npm run bench:provision — how long provisioning takes: a lab of twelve EC2-like machines (the bastion,
// a host per role group, and six more web hosts), converged from scratch, then converged again with
// --limit to 3, 6 and 12 hosts (median of BENCH_REPEAT runs, 3), which must change nothing. Prints
// each run's seconds (the CLI's wall time, node's start included, and the play's, from the first
// connection to the recap), each host's, and where the time went (connect, probe, plan, apply,
// handlers); exits 1 when a re-run changed anything (or a run failed). Ansible's column: see ansible().
// The machine's load is printed too: the figures mean little on a busy host.
import { execFileSync } from 'node:child_process';
import { loadavg, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { roleRegistry } from '../provision/roles/index.js';
import type { LabHost, ProvisionRun, StartedProvisionLab } from '../tests/support/provision-lab.js';
import { startProvisionLab } from '../tests/support/provision-lab.js';

/** One host per role group, as production lays them out; a group whose role is not registered is dropped. */
const layout: Record<string, string[]> = {
  web1: ['web'],
  web2: ['web'],
  api1: ['api'],
  db1: ['db'],
  mon1: ['monitoring'],
  ...Object.fromEntries(Array.from({ length: 6 }, (_, index) => [`web${index + 3}`, ['web']])),
};
/** The no-op runs: the first 3, 6 and 12 hosts of the lab (the bastion first). */
const sizes = [3, 6, 12];
const repeat = Number(process.env.BENCH_REPEAT ?? '3');

// db hosts run without backups here (db_backups: false): the bench measures provisioning, not pgBackRest.
const hosts: Record<string, LabHost> = Object.fromEntries(
  Object.entries(layout).map(([name, groups]) => [
    name,
    {
      groups: groups.filter((group) => group in roleRegistry()),
      ...(groups.includes('db') ? { vars: { db_backups: false } } : {}),
    },
  ]),
);
// What the roles need that the lab cannot guess (throwaway values: the lab lives for this run only).
const groups = {
  api: { firebase_project_id: 'refereezy-bench' },
  // No SMS leaves the lab: the notifier writes its texts to a file.
  monitoring: {
    alert_email_to: 'admins@refereezy.test',
    alert_smtp_from: 'alertmanager@refereezy.test',
    alert_smtp_smarthost: 'relay.refereezy.test:25',
    sms_provider: 'outbox',
  },
};
const secrets = {
  db_password: 'bench-db-password',
  db_monitor_password: 'bench-monitor-password',
  sms_recipients: ['+15550100001'],
};

interface Timed {
  label: string;
  run: ProvisionRun;
  /** The CLI's wall time, node's start and the planning included. */
  seconds: number;
}

const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');

async function timed(lab: StartedProvisionLab, label: string, args: string[]): Promise<Timed> {
  const started = performance.now();
  process.stderr.write(`${label}…\n`);
  const run = await lab.provision(args);
  return { label, run, seconds: (performance.now() - started) / 1000 };
}

/** The run of median play time among `count`. */
async function median(lab: StartedProvisionLab, label: string, args: string[], count: number): Promise<Timed> {
  const runs: Timed[] = [];
  for (let index = 0; index < count; index++) runs.push(await timed(lab, `${label} (${index + 1}/${count})`, args));
  runs.sort((a, b) => a.run.recap.seconds - b.run.recap.seconds);
  const middle = runs[Math.floor(runs.length / 2)] as Timed;
  return { ...middle, label };
}

/** Per phase: the sum over the hosts and the slowest host's, in ms; probe round trips per host. */
function phases(timing: Timed): string {
  const hosts = timing.run.recap.hosts;
  const names = ['connect', 'probe', 'plan', 'apply', 'handlers'] as const;
  const cells = names.map((name) => {
    const values = hosts.map((recap) => recap.phases?.[name] ?? 0);
    return `${name} ${Math.max(0, ...values)} ms (Σ ${values.reduce((a, b) => a + b, 0)})`;
  });
  const probes = hosts.map((recap) => recap.probes ?? 0);
  return `${timing.label.padEnd(22)} slowest host: ${cells.join(', ')}; probe round trips per host ${Math.min(...probes)}–${Math.max(...probes)}`;
}

/**
 * Ansible's column needs Debian's ansible-core and a playbook with the same desired state as the
 * common and web roles (files byte-identical): the playbook is not written yet, so the column is
 * skipped, saying why.
 */
function ansible(): string {
  let version = '';
  try {
    version = execFileSync('ansible-playbook', ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  } catch {
    return 'ansible: skipped: ansible-playbook is not installed (apt-get install ansible-core), and no playbook equivalent to the common and web roles exists yet';
  }
  return `ansible: skipped: ${version} is installed, but no playbook equivalent to the common and web roles (files byte-identical) exists yet`;
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
        return cell(
          recap
            ? `${recap.seconds.toFixed(1)} s  ${recap.status} ${recap.changed}/${recap.ok + recap.changed + recap.failed}`
            : '—',
        );
      });
      return `${name.padEnd(width)}${cells.join('')}`;
    }),
    `${'run'.padEnd(width)}${runs.map((timing) => cell(`${timing.seconds.toFixed(1)} s  exit ${timing.run.code}`)).join('')}`,
  ];
  return rows.join('\n');
}

async function main(): Promise<number> {
  process.stderr.write(
    `starting the lab: bastion, ${Object.entries(hosts)
      .map(([name, host]) => `${name} (${host.groups.join(', ') || 'common only'})`)
      .join(', ')}; load ${load()} on ${cpus().length} CPUs\n`,
  );
  const labStarted = performance.now();
  const lab = await startProvisionLab({ hosts, groups, secrets });
  try {
    const startSeconds = (performance.now() - labStarted) / 1000;
    const fresh = await timed(lab, 'fresh converge', []);
    const names = fresh.run.recap.hosts.map((recap) => recap.host);
    const noops: Timed[] = [];
    for (const size of sizes.filter((count) => count <= names.length)) {
      noops.push(await median(lab, `no-op, ${size} hosts`, ['--limit', names.slice(0, size).join(',')], repeat));
    }

    process.stdout.write(
      `\nprovisioning benchmark: ${fresh.run.recap.hosts.length} hosts, lab started in ${startSeconds.toFixed(1)} s, load ${load()} on ${cpus().length} CPUs\n`,
    );
    process.stdout.write('per host: seconds, status, changed/tasks\n\n');
    process.stdout.write(`${table([fresh, ...noops])}\n\n`);
    process.stdout.write('runs: the play (first connection to recap) and the CLI (node start and planning included)\n');
    for (const timing of [fresh, ...noops])
      process.stdout.write(
        `${timing.label.padEnd(22)} play ${timing.run.recap.seconds.toFixed(2)} s   CLI ${timing.seconds.toFixed(2)} s\n`,
      );
    const [smallest, , largest] = noops;
    if (smallest && largest)
      process.stdout.write(
        `no-op growth: ${largest.run.recap.hosts.length / smallest.run.recap.hosts.length}× the hosts, ${(largest.run.recap.seconds / smallest.run.recap.seconds).toFixed(2)}× the play time\n`,
      );
    process.stdout.write('\nwhere the time went\n');
    for (const timing of [fresh, ...noops]) process.stdout.write(`${phases(timing)}\n`);
    process.stdout.write(`\n${ansible()}\n`);

    const failures = [fresh, ...noops].flatMap((timing) =>
      timing.run.recap.hosts
        .filter((recap) => recap.error)
        .map((recap) => `${timing.label}: ${recap.host}: ${recap.error?.kind ?? ''}: ${recap.error?.message ?? ''}`),
    );
    const changes = noops
      .flatMap((timing) => timing.run.recap.hosts)
      .flatMap((recap) =>
        recap.tasks
          .filter((task) => task.status !== 'ok')
          .map((task) => `${task.host} ${task.role}: ${task.task}: ${task.status}: ${task.reason}\n${task.diff ?? ''}`),
      );
    if (failures.length > 0) process.stdout.write(`\nFAILED\n${failures.join('\n')}\n`);
    if (changes.length > 0)
      process.stdout.write(`\nthe re-run changed ${changes.length} task(s):\n${changes.join('\n')}\n`);
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
