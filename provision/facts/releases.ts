import type { Fact } from './fact.js';
import { lines } from './fact.js';

/** Where a symbolic link points (its text), null when there is no link. */
export function linkFact(path: string): Fact<string | null> {
  return {
    name: `link ${path}`,
    command: ['sh', '-c', '[ -L "$1" ] && readlink -- "$1"; exit 0', 'sh', path],
    parse: ({ stdout }) => lines(stdout)[0] ?? null,
  };
}

export interface ReleasesFact {
  /** Release directory names, newest first (by the time they were unpacked). */
  releases: string[];
  /** Where current points, relative (releases/<id>). */
  current: string | null;
}

const listScript = `cd -- "$1" 2>/dev/null || exit 0
readlink -- current || echo
find releases -mindepth 1 -maxdepth 1 -printf '%T@ %f\\n' 2>/dev/null | sort -rn | cut -d' ' -f2
exit 0`;

export function releasesFact(root: string): Fact<ReleasesFact> {
  return {
    name: `releases under ${root}`,
    command: ['sh', '-c', listScript, 'sh', root],
    parse: ({ stdout }) => {
      const [current = '', ...releases] = lines(stdout);
      return { current: current === '' ? null : current, releases };
    },
  };
}
