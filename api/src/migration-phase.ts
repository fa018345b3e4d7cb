/**
 * Expand/contract migrations, so a blue-green deploy never breaks the colour it keeps as fallback.
 *
 * - expand (the default): additive only — new tables, new nullable columns, new indexes. The old
 *   version of the API keeps working against the new schema, so a deploy applies them while the old
 *   colour still runs (the API applies them at start, MIGRATION_PHASE=expand).
 * - contract: removes or narrows what the old version still uses (DROP, RENAME, SET NOT NULL, a type
 *   change). Named `<timestamp>_contract_<what>.sql`; applied only by the later, separate step
 *   `npm run deploy -- <env> contract`, once no colour runs a version that needs the old shape.
 *
 * The classification is the file name (explicit, visible in every listing); `destructiveStatements`
 * checks it: an expand migration that drops or narrows something is refused by the unit tests.
 */
export type MigrationPhase = 'expand' | 'contract';

export const migrationPhases: readonly MigrationPhase[] = ['expand', 'contract'];

export function migrationPhase(name: string): MigrationPhase {
  return /^\d+_contract_/.test(name) ? 'contract' : 'expand';
}

export interface MigrationSelection {
  /** Pending migrations to apply now, in order. */
  apply: string[];
  /** Pending migrations left for the contract step (a contract one, and every one after it, keeps the order). */
  waiting: string[];
}

/**
 * Which pending migrations a phase applies. Migrations stay in file order (node-pg-migrate's
 * checkOrder): in the expand phase, the pending expand migrations before the first pending contract
 * one; in the contract phase, every pending one.
 */
export function selectMigrations(
  files: readonly string[],
  applied: readonly string[],
  phase: MigrationPhase,
): MigrationSelection {
  const done = new Set(applied);
  const pending = files.filter((name) => !done.has(name));
  if (phase === 'contract') return { apply: pending, waiting: [] };
  const firstContract = pending.findIndex((name) => migrationPhase(name) === 'contract');
  if (firstContract === -1) return { apply: pending, waiting: [] };
  return { apply: pending.slice(0, firstContract), waiting: pending.slice(firstContract) };
}

// What an expand migration must not do: each one breaks a running old version.
const destructive: readonly [RegExp, string][] = [
  [/\bDROP\s+(TABLE|COLUMN|VIEW|TYPE|SCHEMA|FUNCTION)\b/i, 'drops'],
  [/\bRENAME\b/i, 'renames'],
  [/\bALTER\s+COLUMN\s+[\w"]+\s+(SET\s+DATA\s+)?TYPE\b/i, 'changes a column type'],
  [/\bSET\s+NOT\s+NULL\b/i, 'makes a column NOT NULL'],
  [/\bTRUNCATE\b/i, 'truncates'],
];

/** The Up part of a node-pg-migrate SQL migration (before `-- Down Migration`), comments removed. */
export function upSection(sql: string): string {
  const up = sql.split(/^--\s*Down Migration\s*$/im)[0] ?? '';
  return up.replace(/--.*$/gm, '');
}

/** Why an expand migration's SQL is not additive: one reason per destructive statement kind. */
export function destructiveStatements(sql: string): string[] {
  const up = upSection(sql);
  return destructive.filter(([pattern]) => pattern.test(up)).map(([, reason]) => reason);
}
