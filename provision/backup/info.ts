import { z } from 'zod';

/**
 * `pgbackrest info --output=json`, checked: the backups of each repo and the window they make
 * recoverable. Only the fields used here are read; pgBackRest adds others between versions.
 */
const backupSchema = z.object({
  label: z.string(),
  type: z.enum(['full', 'diff', 'incr']),
  error: z.boolean().optional(),
  timestamp: z.object({ start: z.number().int(), stop: z.number().int() }),
  database: z.object({ 'repo-key': z.number().int() }),
  info: z.object({ size: z.number(), repository: z.object({ delta: z.number() }).partial().optional() }).partial(),
  archive: z
    .object({ start: z.string().nullable().optional(), stop: z.string().nullable().optional() })
    .partial()
    .optional(),
});
const stanzaSchema = z.object({
  name: z.string(),
  backup: z.array(backupSchema).default([]),
  archive: z
    .array(
      z.object({
        database: z.object({ 'repo-key': z.number().int() }),
        min: z.string().nullable().optional(),
        max: z.string().nullable().optional(),
      }),
    )
    .default([]),
  repo: z
    .array(z.object({ key: z.number().int(), status: z.object({ code: z.number().int(), message: z.string() }) }))
    .default([]),
  status: z.object({ code: z.number().int(), message: z.string() }),
});
export const infoSchema = z.array(stanzaSchema).length(1, 'pgBackRest reported no stanza, or more than one');

export interface Backup {
  label: string;
  type: 'full' | 'diff' | 'incr';
  repo: number;
  /** Seconds since the epoch. */
  start: number;
  stop: number;
  /** The database's size, and what the backup added to the repo (compressed), in bytes. */
  size: number;
  repoDelta: number;
  error: boolean;
}

export interface RepoWindow {
  repo: number;
  status: string;
  backups: Backup[];
  /** The earliest point a restore can reach (the end of the oldest complete backup); null: nothing to restore. */
  from: Date | null;
  /** The latest archived WAL segment (the newest point is "now", minus the archive lag). */
  latestWal: string | null;
}

export interface BackupInfo {
  stanza: string;
  status: string;
  repos: RepoWindow[];
}

export function parseInfo(json: string): BackupInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`pgbackrest info did not print JSON: ${(error as Error).message}`);
  }
  const parsed = infoSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`pgbackrest info printed unexpected JSON: ${z.prettifyError(parsed.error)}`);
  const [stanza] = parsed.data;
  if (!stanza) throw new Error('pgbackrest info reported no stanza');
  const backups: Backup[] = stanza.backup.map((backup) => ({
    label: backup.label,
    type: backup.type,
    repo: backup.database['repo-key'],
    start: backup.timestamp.start,
    stop: backup.timestamp.stop,
    size: backup.info.size ?? 0,
    repoDelta: backup.info.repository?.delta ?? 0,
    error: backup.error ?? false,
  }));
  const keys = [...new Set([...stanza.repo.map((repo) => repo.key), ...backups.map((backup) => backup.repo)])].sort();
  const repos = keys.map((repo) => {
    const own = backups.filter((backup) => backup.repo === repo);
    const complete = own.filter((backup) => !backup.error);
    const oldest = complete.reduce<number | null>(
      (min, backup) => (min === null || backup.stop < min ? backup.stop : min),
      null,
    );
    return {
      repo,
      status: stanza.repo.find((entry) => entry.key === repo)?.status.message ?? 'unknown',
      backups: own,
      from: oldest === null ? null : new Date(oldest * 1000),
      latestWal: stanza.archive.find((archive) => archive.database['repo-key'] === repo)?.max ?? null,
    };
  });
  return { stanza: stanza.name, status: stanza.status.message, repos };
}

const iso = (date: Date) => date.toISOString().replace('.000Z', 'Z');

export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function windowLine(repo: RepoWindow): string {
  return repo.from === null
    ? `repo${repo.repo}: no complete backup, nothing can be restored`
    : `repo${repo.repo}: recoverable from ${iso(repo.from)} to now (latest archived WAL ${repo.latestWal ?? 'none'})`;
}

/** What `backups` prints: every backup with its sizes, and each repo's recoverable window. */
export function formatBackups(info: BackupInfo, regions: Record<number, string> = {}): string {
  const lines = [`stanza ${info.stanza}: ${info.status}`];
  for (const repo of info.repos) {
    lines.push('', `repo${repo.repo}${regions[repo.repo] ? ` (${regions[repo.repo]})` : ''}: ${repo.status}`);
    for (const backup of repo.backups) {
      lines.push(
        `  ${backup.label.padEnd(34)} ${backup.type.padEnd(4)} ${iso(new Date(backup.start * 1000))} → ${iso(new Date(backup.stop * 1000))}  database ${humanBytes(backup.size)}, stored ${humanBytes(backup.repoDelta)}${backup.error ? '  (ERRORS: not used for restores)' : ''}`,
      );
    }
    lines.push(`  ${windowLine(repo)}`);
  }
  return `${lines.join('\n')}\n`;
}
