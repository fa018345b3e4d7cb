import { chalk } from 'zx';
import type { HostRecap, TaskReport } from '../core/runner.js';

const statusWord: Record<TaskReport['status'], string> = {
  ok: chalk.green('ok'.padEnd(7)),
  changed: chalk.yellow('changed'.padEnd(7)),
  failed: chalk.red('FAILED'.padEnd(7)),
  pending: chalk.magenta('PENDING'.padEnd(7)),
};

const recapColour: Record<HostRecap['status'], (text: string) => string> = {
  ok: chalk.green,
  changed: chalk.yellow,
  failed: chalk.red,
  unreachable: chalk.red,
  skipped: chalk.red,
};

/** One progress line per task: `[web1] changed web: Render nginx.conf — update … (58 ms)`. */
export function taskLine(report: TaskReport): string {
  return `[${report.host}] ${statusWord[report.status]} ${report.role}: ${report.task} — ${report.reason} (${report.ms} ms)`;
}

export function recapLines(recaps: readonly HostRecap[], seconds: number): string[] {
  const width = Math.max(...recaps.map((recap) => recap.host.length));
  return [
    '',
    'RECAP',
    ...recaps.map(
      (recap) =>
        `${recap.host.padEnd(width)}  ${recapColour[recap.status](recap.status.toUpperCase().padEnd(11))} ok=${recap.ok} changed=${recap.changed} failed=${recap.failed} unreachable=${recap.status === 'unreachable' ? 1 : 0}  ${recap.seconds.toFixed(1)}s${recap.error ? `  ${recap.error.kind}: ${recap.error.message}` : ''}${recap.pending.map((what) => `  ${chalk.magenta('restart pending')}: ${what}`).join('')}`,
    ),
    `${recaps.length} hosts in ${seconds.toFixed(1)}s`,
  ];
}
