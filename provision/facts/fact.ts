import type { RunResult } from '../core/connector.js';
import { commandLine } from '../core/shell.js';

/** What a host has, read by one probe command (never failing on absence) and parsed; null when absent. */
export interface Fact<T> {
  /** "file /etc/ssh/sshd_config" */
  name: string;
  command: string[];
  parse(result: RunResult): T;
}

/** The lines of a probe's output, trailing newline dropped. */
export function lines(stdout: string): string[] {
  const text = stdout.replace(/\n$/, '');
  return text === '' ? [] : text.split('\n');
}

/**
 * Several facts read by one probe (one round trip): each probe runs in turn in one `sh -c`, its
 * output followed by a marker line with its exit code, and is parsed by its own fact. Stderr is not
 * split per probe: facts that read it cannot be combined.
 */
export function combineFacts<T extends object>(name: string, facts: { [K in keyof T]: Fact<T[K]> }): Fact<T> {
  const keys = Object.keys(facts) as (keyof T & string)[];
  const marker = '--8<-- refereezy fact';
  const script = keys.map((key) => `${commandLine(facts[key].command)}\nprintf '\\n${marker} %s\\n' "$?"`).join('\n');
  return {
    name,
    command: ['sh', '-c', script],
    parse: ({ stdout }) => {
      const parts = stdout.split(new RegExp(`\\n${marker} (\\d+)\\n`));
      const parsed: Partial<T> = {};
      keys.forEach((key, index) => {
        // parts: output, code, output, code, …; the \n before each marker was added by the script.
        parsed[key] = facts[key].parse({
          code: Number(parts[2 * index + 1] ?? '-1'),
          stdout: parts[2 * index] ?? '',
          stderr: '',
        });
      });
      return parsed as T;
    },
  };
}
