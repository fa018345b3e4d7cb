import type { Fact } from './fact.js';

/** Whether a probe command succeeds (exit 0). */
export function probeSucceeds(argv: string[]): Fact<boolean> {
  return { name: `probe ${argv.join(' ')}`, command: argv, parse: ({ code }) => code === 0 };
}
