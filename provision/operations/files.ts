import { createHash } from 'node:crypto';
import { PlanError } from '../core/errors.js';
import { isAbsolutePath } from '../validation/validators.js';
import type { FileFact, PathFact } from '../facts/files.js';
import { fileFact, formatMode, parseMode, pathFact } from '../facts/files.js';
import { unifiedDiff } from './diff.js';
import type { Command, Operation, Plan } from './operation.js';
import { change, noop, run } from './operation.js';

export interface FileDesired {
  path: string;
  content: string;
  owner?: string;
  group?: string;
  /** Octal, "0644". */
  mode?: string;
  /**
   * The content is a secret: it is never read back from the host, and reports, diffs and --json say
   * only that it changed and its sha256 (abbreviated). It travels as the command's stdin, never in argv.
   */
  sensitive?: boolean;
  /**
   * A command that checks the new content before it replaces the file, as Ansible's `validate`:
   * words split on spaces, `%s` the temporary file's path (`visudo -cf %s`, `sshd -t -f %s`,
   * `nft -c -f %s`). It runs as root on the host; a non-zero exit leaves the old file in place and
   * fails the task with the checker's output.
   */
  validate?: string;
}

export interface DirectoryDesired {
  path: string;
  owner?: string;
  group?: string;
  mode?: string;
}

function requireAbsolute(path: string): void {
  if (!isAbsolutePath(path)) throw new PlanError('', `"${path}" is not an absolute, normalised path`);
}

/** chown/chmod for what differs between a path's stat and the desired owner, group and mode. */
function metadataCommands(
  path: string,
  current: PathFact,
  owner: string,
  group: string,
  mode: number,
): { commands: Command[]; what: string[] } {
  const commands: Command[] = [];
  const what: string[] = [];
  if (current.owner !== owner || current.group !== group) {
    commands.push(run('chown', `${owner}:${group}`, '--', path));
    what.push(`owner ${current.owner}:${current.group} → ${owner}:${group}`);
  }
  if (current.mode !== mode) {
    commands.push(run('chmod', formatMode(mode), '--', path));
    what.push(`mode ${formatMode(current.mode)} → ${formatMode(mode)}`);
  }
  return { commands, what };
}

/**
 * The content is stdin; its length in bytes is $5: a cut connection gives `cat` an early end of file,
 * not an error, so a short file is the sign (SSH itself guards the bytes that do arrive). The
 * temporary file sits in the destination's directory (rename is atomic only within one file system),
 * named with a leading dot and a dot inside (sudo skips such names in sudoers.d; no *.conf include
 * matches it), and is removed on every way out but the rename. $1 path, $2 mode, $3 owner, $4 group,
 * $5 length, then the validate words.
 */
const atomicWriteScript = `set -eu
dest=$1 mode=$2 owner=$3 group=$4 want=$5
shift 5
tmp=$(mktemp -- "$(dirname -- "$dest")/.$(basename -- "$dest").refereezy-XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 141' PIPE
trap 'exit 143' TERM
cat >"$tmp"
got=$(wc -c <"$tmp")
[ "$got" -eq "$want" ] || { echo "$dest: the content arrived incomplete ($got of $want bytes): the previous file is left as it was" >&2; exit 1; }
chown -- "$owner:$group" "$tmp"
chmod -- "$mode" "$tmp"
for word do
  shift
  case $word in *%s*) word="\${word%%"%s"*}$tmp\${word#*"%s"}" ;; esac
  set -- "$@" "$word"
done
if [ "$#" -gt 0 ] && ! out=$("$@" 2>&1); then
  printf '%s\\n' "$dest: the new content fails the check ($*) and was not installed:" "$out" >&2
  exit 1
fi
sync -- "$tmp"
mv -f -T -- "$tmp" "$dest"
trap - EXIT`;

/** The words of a `validate` command; `%s` (the temporary file) must be among them. */
export function validateWords(validate: string, path = ''): string[] {
  const words = validate
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  if (!words.some((word) => word.includes('%s')))
    throw new PlanError(
      '',
      `validate "${validate}" for ${path}: name the temporary file with %s (as in "visudo -cf %s")`,
    );
  if (words.some((word) => /["'\\$`]/.test(word)))
    throw new PlanError(
      '',
      `validate "${validate}" for ${path}: words are split on spaces and never interpreted by a shell: no quotes, $ or backslashes`,
    );
  return words;
}

/**
 * Writes a file so that it is either the old one or the new one, whole and checked, never a mix:
 * the content goes to a temporary file beside it, is checked whole (its length), given its owner and
 * mode, checked by `validate` when given, synced, and renamed over the old one. (`install` from stdin
 * unlinks the old file first, so a cut connection left a truncated one.)
 */
export function atomicWrite(desired: {
  path: string;
  content: string;
  owner?: string;
  group?: string;
  mode?: string;
  validate?: string | undefined;
}): Command {
  const words = desired.validate === undefined ? [] : validateWords(desired.validate, desired.path);
  const mode = formatMode(parseMode(desired.mode ?? '0644'));
  return {
    argv: [
      'sh',
      '-c',
      atomicWriteScript,
      'write',
      desired.path,
      mode,
      desired.owner ?? 'root',
      desired.group ?? 'root',
      String(Buffer.byteLength(desired.content)),
      ...words,
    ],
    stdin: desired.content,
  };
}

const sha256Of = (content: string) => createHash('sha256').update(content).digest('hex');
/** Enough of a digest to tell versions apart in a report, not to search for a short secret. */
const abbreviated = (sha256: string | null) => (sha256 ? `${sha256.slice(0, 12)}…` : '?');

/** Whether the file must be (re)written: absent, or its content differs. */
export function contentDiffers(desired: FileDesired, current: FileFact | null): boolean {
  return current === null || current.sha256 !== sha256Of(desired.content);
}

export function planFile(desired: FileDesired, current: FileFact | null): Plan {
  const owner = desired.owner ?? 'root';
  const group = desired.group ?? 'root';
  const mode = parseMode(desired.mode ?? '0644');
  const write = atomicWrite({ ...desired, owner, group, mode: formatMode(mode) });
  const checked = desired.validate === undefined ? '' : ` (checked by \`${desired.validate}\` first)`;
  const sha256 = sha256Of(desired.content);
  const headers = `--- ${desired.path}\n+++ ${desired.path} (desired)\n`;
  if (current === null) {
    if (desired.sensitive)
      return change(
        `create ${desired.path} (sensitive, sha256 ${abbreviated(sha256)})${checked}`,
        [write],
        `${headers}(sensitive content not shown: sha256 ${abbreviated(sha256)})\n`,
      );
    return change(`create ${desired.path}${checked}`, [write], unifiedDiff(desired.path, '', desired.content));
  }
  if (current.type !== 'regular file')
    throw new PlanError('', `${desired.path} is a ${current.type}, not a regular file`);
  if (current.sha256 !== sha256) {
    const hashes = `sha256 ${abbreviated(current.sha256)}→${abbreviated(sha256)}`;
    if (desired.sensitive)
      return change(
        `update the content of ${desired.path}: content changed (sensitive, ${hashes})${checked}`,
        [write],
        `${headers}(sensitive content not shown: ${hashes})\n`,
      );
    const diff =
      current.content === null
        ? `${headers}(content too large to diff: sha256 ${current.sha256 ?? '?'} → ${sha256})\n`
        : unifiedDiff(desired.path, current.content, desired.content);
    return change(`update the content of ${desired.path}${checked}`, [write], diff);
  }
  const { commands, what } = metadataCommands(desired.path, current, owner, group, mode);
  if (commands.length === 0) return noop(`${desired.path} is up to date (${owner}:${group} ${formatMode(mode)})`);
  return change(`${desired.path}: ${what.join(', ')}`, commands);
}

export function planDirectory(desired: DirectoryDesired, current: PathFact | null): Plan {
  const owner = desired.owner ?? 'root';
  const group = desired.group ?? 'root';
  const mode = parseMode(desired.mode ?? '0755');
  if (current === null)
    return change(`create directory ${desired.path}`, [
      run('install', '-d', '-m', formatMode(mode), '-o', owner, '-g', group, '--', desired.path),
    ]);
  if (current.type !== 'directory') throw new PlanError('', `${desired.path} is a ${current.type}, not a directory`);
  const { commands, what } = metadataCommands(desired.path, current, owner, group, mode);
  if (commands.length === 0) return noop(`directory ${desired.path} exists (${owner}:${group} ${formatMode(mode)})`);
  return change(`${desired.path}: ${what.join(', ')}`, commands);
}

/** A regular file with this content, owner, group and mode. */
export function file(desired: FileDesired): Operation<FileFact | null> {
  requireAbsolute(desired.path);
  if (desired.validate !== undefined) validateWords(desired.validate, desired.path);
  return {
    fact: fileFact(desired.path, { content: !desired.sensitive }),
    plan: (current) => planFile(desired, current),
  };
}

/** A directory with this owner, group and mode (parents created as needed). */
export function directory(desired: DirectoryDesired): Operation<PathFact | null> {
  requireAbsolute(desired.path);
  return { fact: pathFact(desired.path), plan: (current) => planDirectory(desired, current) };
}
