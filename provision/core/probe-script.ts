import { randomBytes } from 'node:crypto';
import { commandLine } from './shell.js';

/**
 * Several probes as one shell script, so that reading all of a host's facts costs one round trip:
 * each probe runs with no stdin, its stderr kept aside, and its stdout, exit code and stderr are
 * framed by a marker no output can contain (a random nonce per script).
 */
export interface ProbeScript {
  argv: string[];
  parse(stdout: string): { code: number; stdout: string; stderr: string }[];
}

/** One argument of `sh -c` may not exceed Linux's MAX_ARG_STRLEN (128 KiB); a script stays well below. */
export const maxScriptBytes = 96 * 1024;

export function probeScript(commands: readonly (readonly string[])[]): ProbeScript {
  const marker = `--8<-- refereezy probe ${randomBytes(12).toString('hex')}`;
  const script = [
    'e=$(mktemp) || exit 70',
    `trap 'rm -f -- "$e"' EXIT`,
    ...commands.map(
      (argv) =>
        `${commandLine(argv)} </dev/null 2>"$e"\nprintf '\\n${marker} %s\\n' "$?"\ncat -- "$e"\nprintf '\\n${marker}\\n'`,
    ),
  ].join('\n');
  return {
    argv: ['sh', '-c', script],
    parse: (stdout) => {
      const results: { code: number; stdout: string; stderr: string }[] = [];
      let at = 0;
      for (let index = 0; index < commands.length; index++) {
        const codeLine = new RegExp(`\\n${marker} (\\d+)\\n`, 'y');
        const end = stdout.indexOf(`\n${marker} `, at);
        if (end === -1) throw new Error(`the probe script's output ends after ${index} of ${commands.length} probes`);
        codeLine.lastIndex = end;
        const match = codeLine.exec(stdout);
        if (!match) throw new Error(`probe ${index + 1}: a malformed marker line`);
        const stderrStart = end + match[0].length;
        const stderrEnd = stdout.indexOf(`\n${marker}\n`, stderrStart - 1);
        if (stderrEnd === -1) throw new Error(`probe ${index + 1}: its stderr is cut`);
        results.push({
          code: Number(match[1]),
          stdout: stdout.slice(at, end),
          stderr: stdout.slice(stderrStart, stderrEnd),
        });
        at = stderrEnd + marker.length + 2;
      }
      return results;
    },
  };
}

/** The commands cut into scripts each below maxScriptBytes, in order. */
export function probeBatches(commands: readonly (readonly string[])[]): (readonly (readonly string[])[])[] {
  const batches: (readonly string[])[][] = [];
  let current: (readonly string[])[] = [];
  let bytes = 0;
  for (const argv of commands) {
    const size = Buffer.byteLength(commandLine(argv)) + 200;
    if (current.length > 0 && bytes + size > maxScriptBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(argv);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
