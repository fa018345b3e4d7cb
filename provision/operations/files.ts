import { createHash } from 'node:crypto';
import { PlanError } from '../connectors/errors.js';
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
   * A check of the new content before it replaces the file, as Ansible's `validate`: an argv whose
   * "%s" is the temporary file's path (`['sshd', '-t', '-f', '%s']`). The content is written beside
   * the file, checked, and renamed over it only when the check passes; a failing check removes it.
   */
  validate?: string[];
}

export interface DirectoryDesired {
  path: string;
  owner?: string;
  group?: string;
  mode?: string;
}

function requireAbsolute(path: string): void {
  if (!path.startsWith('/') || path.split('/').includes('..')) throw new PlanError('', `"${path}" is not an absolute, normalised path`);
}

/** chown/chmod for what differs between a path's stat and the desired owner, group and mode. */
function metadataCommands(path: string, current: PathFact, owner: string, group: string, mode: number): { commands: Command[]; what: string[] } {
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

const sha256Of = (content: string) => createHash('sha256').update(content).digest('hex');
/** Enough of a digest to tell versions apart in a report, not to search for a short secret. */
const abbreviated = (sha256: string | null) => (sha256 ? `${sha256.slice(0, 12)}…` : '?');

/** Whether the file must be (re)written: absent, or its content differs. */
export function contentDiffers(desired: FileDesired, current: FileFact | null): boolean {
  return current === null || current.sha256 !== sha256Of(desired.content);
}

/** The content written (from stdin), or written beside the file, validated, then renamed over it. */
function writeCommands(desired: FileDesired, owner: string, group: string, mode: number): Command[] {
  const install = (target: string): Command => ({ argv: ['install', '-m', formatMode(mode), '-o', owner, '-g', group, '--', '/dev/stdin', target], stdin: desired.content });
  if (!desired.validate) return [install(desired.path)];
  if (!desired.validate.includes('%s')) throw new PlanError('', `validate for ${desired.path} must name the file to check as %s: ${desired.validate.join(' ')}`);
  const temporary = `${desired.path}.refereezy-new`;
  return [
    install(temporary),
    // $0 is the temporary file: removed when the check fails, so nothing half-checked stays behind.
    { argv: ['sh', '-c', '"$@" || { status=$?; rm -f -- "$0"; exit "$status"; }', temporary, ...desired.validate.map((arg) => arg.replaceAll('%s', temporary))] },
    { argv: ['mv', '-f', '--', temporary, desired.path] },
  ];
}

export function planFile(desired: FileDesired, current: FileFact | null): Plan {
  const owner = desired.owner ?? 'root';
  const group = desired.group ?? 'root';
  const mode = parseMode(desired.mode ?? '0644');
  const write = writeCommands(desired, owner, group, mode);
  const sha256 = sha256Of(desired.content);
  const headers = `--- ${desired.path}\n+++ ${desired.path} (desired)\n`;
  if (current === null) {
    if (desired.sensitive) return change(`create ${desired.path} (sensitive, sha256 ${abbreviated(sha256)})`, write, `${headers}(sensitive content not shown: sha256 ${abbreviated(sha256)})\n`);
    return change(`create ${desired.path}`, write, unifiedDiff(desired.path, '', desired.content));
  }
  if (current.type !== 'regular file') throw new PlanError('', `${desired.path} is a ${current.type}, not a regular file`);
  if (current.sha256 !== sha256) {
    const hashes = `sha256 ${abbreviated(current.sha256)}→${abbreviated(sha256)}`;
    if (desired.sensitive) return change(`update the content of ${desired.path}: content changed (sensitive, ${hashes})`, write, `${headers}(sensitive content not shown: ${hashes})\n`);
    const diff = current.content === null ? `${headers}(content too large to diff: sha256 ${current.sha256 ?? '?'} → ${sha256})\n` : unifiedDiff(desired.path, current.content, desired.content);
    return change(`update the content of ${desired.path}`, write, diff);
  }
  const { commands, what } = metadataCommands(desired.path, current, owner, group, mode);
  if (commands.length === 0) return noop(`${desired.path} is up to date (${owner}:${group} ${formatMode(mode)})`);
  return change(`${desired.path}: ${what.join(', ')}`, commands);
}

export function planDirectory(desired: DirectoryDesired, current: PathFact | null): Plan {
  const owner = desired.owner ?? 'root';
  const group = desired.group ?? 'root';
  const mode = parseMode(desired.mode ?? '0755');
  if (current === null) return change(`create directory ${desired.path}`, [run('install', '-d', '-m', formatMode(mode), '-o', owner, '-g', group, '--', desired.path)]);
  if (current.type !== 'directory') throw new PlanError('', `${desired.path} is a ${current.type}, not a directory`);
  const { commands, what } = metadataCommands(desired.path, current, owner, group, mode);
  if (commands.length === 0) return noop(`directory ${desired.path} exists (${owner}:${group} ${formatMode(mode)})`);
  return change(`${desired.path}: ${what.join(', ')}`, commands);
}

/** A regular file with this content, owner, group and mode. */
export function file(desired: FileDesired): Operation<FileFact | null> {
  requireAbsolute(desired.path);
  return { fact: fileFact(desired.path, { content: !desired.sensitive }), plan: (current) => planFile(desired, current) };
}

/** A directory with this owner, group and mode (parents created as needed). */
export function directory(desired: DirectoryDesired): Operation<PathFact | null> {
  requireAbsolute(desired.path);
  return { fact: pathFact(desired.path), plan: (current) => planDirectory(desired, current) };
}
