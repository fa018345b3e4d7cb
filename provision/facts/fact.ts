import type { RunResult } from '../connectors/ssh.js';

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
