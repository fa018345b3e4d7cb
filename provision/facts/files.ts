import { PlanError } from '../core/errors.js';
import type { Fact } from './fact.js';
import { lines } from './fact.js';

export interface PathFact {
  /** stat's %F: "regular file", "directory", "symbolic link", … */
  type: string;
  owner: string;
  group: string;
  /** Permission bits, as a number (0o644). */
  mode: number;
  size: number;
}

export interface FileFact extends PathFact {
  sha256: string | null;
  /** The content, for diffs (files up to maxDiffBytes). */
  content: string | null;
}

const maxDiffBytes = 256 * 1024;
// The path is the script's $1, never part of the script.
const statScript = `[ -e "$1" ] || [ -L "$1" ] || exit 0
stat -c '%F|%U|%G|%a|%s' -- "$1"`;
// $2 = "content": also the content, base64, for diffs. A sensitive file's content never leaves the host.
const fileScript = `${statScript}
[ -f "$1" ] || exit 0
sha256sum -- "$1" | cut -d' ' -f1
[ "$2" = content ] && [ "$(stat -c %s -- "$1")" -le ${maxDiffBytes} ] && base64 -w0 -- "$1"
exit 0`;

function parseStat(line: string): PathFact {
  const [type = '', owner = '', group = '', mode = '', size = ''] = line.split('|');
  return { type, owner, group, mode: parseInt(mode, 8), size: Number(size) };
}

/** A path's type, owner, group and mode; null when nothing is there. */
export function pathFact(path: string): Fact<PathFact | null> {
  return {
    name: `path ${path}`,
    command: ['sh', '-c', statScript, 'sh', path],
    parse: ({ stdout }) => {
      const [stat] = lines(stdout);
      return stat ? parseStat(stat) : null;
    },
  };
}

/**
 * A path's stat, plus its sha256 and (unless `content: false`, for a sensitive file) its content when it
 * is a regular file; null when nothing is there.
 */
export function fileFact(
  path: string,
  { content: withContent = true }: { content?: boolean } = {},
): Fact<FileFact | null> {
  return {
    name: `file ${path}`,
    command: ['sh', '-c', fileScript, 'sh', path, withContent ? 'content' : 'hash'],
    parse: ({ stdout }) => {
      const [stat, sha256, content] = lines(stdout);
      if (!stat) return null;
      const path = parseStat(stat);
      // base64 prints nothing for an empty file; nothing at all for one too large to diff.
      const text =
        !withContent || sha256 === undefined
          ? null
          : content !== undefined
            ? Buffer.from(content, 'base64').toString('utf8')
            : path.size === 0
              ? ''
              : null;
      return { ...path, sha256: sha256 ?? null, content: text };
    },
  };
}

/** Modes are given as octal strings ("0644") and compared as numbers. */
export function parseMode(mode: string, host = ''): number {
  if (!/^0?[0-7]{3,4}$/.test(mode)) throw new PlanError(host, `"${mode}" is not an octal mode`);
  return parseInt(mode, 8);
}

export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
