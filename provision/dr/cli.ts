// npm run dr -- <replica|inventory> <status|switchover|failover|promote-dr|failback|drill> [options]
// The operators' high-availability and disaster-recovery commands (docs/runbooks/failover.md,
// switchover.md, region-failover.md, rejoin-node.md). Patroni and etcd hold the state; this CLI
// reads it, checks, asks Patroni to act and waits until the cluster shows it done.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { failover, status, switchover } from './commands.js';
import { defaultDrillOptions, DrillRefusedError, formatReport, zoneDrill } from './drill.js';
import { failback, promoteDr } from './regions.js';
import { failbackDrill, regionDrill } from './region-drill.js';
import { parseCommand, RefusedError, UsageError, type DrCommand } from './options.js';
import { ReplicaTarget, type DrTarget } from './target.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const readline = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^yes$/i.test((await readline.question(question)).trim());
  } finally {
    readline.close();
  }
}

function connect(command: DrCommand): DrTarget {
  if (command.target === 'replica') return new ReplicaTarget(repoRoot);
  throw new UsageError(
    `${command.target}: the DR commands drive the replica today; for production hosts use the runbooks' production blocks (docs/runbooks/failover.md): the inventory target is not built yet`,
  );
}

export async function runDrCommand(
  command: DrCommand,
  target: DrTarget,
  out: (text: string) => void,
  log: (text: string) => void,
): Promise<void> {
  switch (command.command) {
    case 'status':
      out(await status(target));
      return;
    case 'switchover':
      out(await switchover(target, command.candidate));
      return;
    case 'failover':
      out(await failover(target, command.candidate, command.yes, confirm));
      return;
    case 'drill': {
      if (target.production && !command.production)
        throw new RefusedError(
          `${target.name} is production: a drill kills its primary under load. Pass --production to mean it. Nothing was done.`,
        );
      const options = { ...defaultDrillOptions, log: (line: string) => log(`${line}\n`) };
      const report =
        command.scenario === 'zone'
          ? await zoneDrill(target, options)
          : command.scenario === 'region'
            ? await regionDrill(target, options)
            : await failbackDrill(target, options);
      const directory = path.join(repoRoot, '.local', 'dr-reports');
      mkdirSync(directory, { recursive: true });
      const file = path.join(directory, `${report.startedAt.replace(/[:.]/g, '-')}-${report.scenario}.json`);
      writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
      out(`${formatReport(report)}report: ${path.relative(repoRoot, file)}\n`);
      if (!report.passed) process.exitCode = 4;
      return;
    }
    case 'promote-dr':
      out(await promoteDr(target, command.yes, confirm, (line) => log(`dr: ${line}\n`)));
      return;
    case 'failback':
      out(await failback(target, command.yes, confirm, (line) => log(`dr: ${line}\n`)));
      return;
  }
}

function scriptArgs(): string[] {
  const self = fileURLToPath(import.meta.url);
  const at = process.argv.findIndex((arg) => path.resolve(arg) === self);
  return process.argv.slice(at === -1 ? 2 : at + 1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const command = parseCommand(scriptArgs());
    const target = connect(command);
    try {
      await runDrCommand(
        command,
        target,
        (text) => process.stdout.write(text),
        (text) => process.stderr.write(text),
      );
    } finally {
      target.close();
    }
  } catch (error) {
    const expected = error instanceof UsageError || error instanceof RefusedError || error instanceof DrillRefusedError;
    process.stderr.write(
      `dr: ${expected ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode =
      error instanceof UsageError ? 2 : error instanceof RefusedError || error instanceof DrillRefusedError ? 3 : 1;
  }
}
