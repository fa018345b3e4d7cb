import type { BackupInfo } from './info.js';
import { windowLine } from './info.js';

/** A request the CLI refuses before touching anything; the message says why and what would work. */
export class RefusedError extends Error {}

export type RestoreTarget = { kind: 'latest' } | { kind: 'time'; at: Date; pg: string };

const isoTime = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * `--to`: "latest", or an ISO 8601 time with its zone (2026-12-02T01:30:00Z, …+01:00). A time
 * without a zone is refused: on a server in another zone it would mean another moment.
 */
export function parseTarget(text: string): RestoreTarget {
  if (text === 'latest') return { kind: 'latest' };
  const match = isoTime.exec(text.trim());
  // A date that does not exist (2026-02-30, 25:00) is refused, not rolled over as Date would.
  const exists =
    match !== null && new Date(`${match[1]}T${match[2]}Z`).toISOString().slice(0, 19) === `${match[1]}T${match[2]}`;
  const at =
    match && exists
      ? new Date(
          `${match[1]}T${match[2]}${(match[3] ?? '').slice(0, 4)}${match[4] === 'Z' ? 'Z' : (match[4] ?? '').replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')}`,
        )
      : null;
  if (!match || at === null || Number.isNaN(at.getTime())) {
    throw new RefusedError(
      `--to ${JSON.stringify(text)} is not a time: give "latest" or an ISO 8601 time with its zone, e.g. 2026-12-02T01:30:00Z or 2026-12-02T02:30:00.250+01:00`,
    );
  }
  // PostgreSQL's form in UTC, keeping microseconds the milliseconds of a Date would drop.
  const micro = (match[3] ?? '').slice(4, 7);
  const pg = `${at.toISOString().replace('T', ' ').replace('Z', '')}${micro}+00`;
  return { kind: 'time', at, pg };
}

export interface RestoreRequest {
  target: RestoreTarget;
  set?: string | undefined;
  repo?: number | undefined;
}

/**
 * Checks a restore against the repos before anything runs, and returns db-backup's arguments.
 * Refused: a time in the future, a time before the window, an unknown backup set, a set that
 * ends after the time asked for, a repo with nothing to restore.
 */
export function planRestore(request: RestoreRequest, info: BackupInfo, now: Date): string[] {
  const repos = request.repo === undefined ? info.repos : info.repos.filter((repo) => repo.repo === request.repo);
  if (repos.length === 0)
    throw new RefusedError(
      `repo${request.repo} is not configured (repos: ${info.repos.map((repo) => repo.repo).join(', ')})`,
    );
  const windows = repos.map((repo) => `  ${windowLine(repo)}`).join('\n');
  const usable = repos.filter((repo) => repo.from !== null);
  if (usable.length === 0) throw new RefusedError(`nothing to restore from:\n${windows}`);
  const { target } = request;
  if (target.kind === 'time') {
    if (target.at.getTime() > now.getTime())
      throw new RefusedError(
        `--to ${target.at.toISOString()} is in the future (now: ${now.toISOString()}); the window:\n${windows}`,
      );
    const earliest = Math.min(...usable.map((repo) => repo.from?.getTime() ?? Infinity));
    if (target.at.getTime() < earliest)
      throw new RefusedError(`--to ${target.at.toISOString()} is outside the recoverable window:\n${windows}`);
  }
  const args: string[] = [];
  if (request.set !== undefined) {
    const backups = repos.flatMap((repo) => repo.backups);
    const set = backups.find((backup) => backup.label === request.set);
    if (!set)
      throw new RefusedError(
        `no backup set ${request.set}${request.repo ? ` in repo${request.repo}` : ''}; the sets:\n${backups.map((backup) => `  ${backup.label} (repo${backup.repo}, ${backup.type})`).join('\n') || '  none'}`,
      );
    if (set.error)
      throw new RefusedError(
        `backup set ${set.label} has errors (pgBackRest found invalid pages in it): choose another`,
      );
    if (target.kind === 'time' && set.stop * 1000 > target.at.getTime())
      throw new RefusedError(
        `backup set ${set.label} ends at ${new Date(set.stop * 1000).toISOString()}, after --to ${target.at.toISOString()}: choose an earlier set, or none`,
      );
    args.push('--set', set.label);
  }
  if (request.repo !== undefined) args.push('--repo', String(request.repo));
  args.push('--target', target.kind === 'latest' ? 'latest' : target.pg);
  return args;
}
