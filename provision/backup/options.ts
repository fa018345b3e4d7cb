import { homedir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseTarget, RefusedError, type RestoreTarget } from './restore-plan.js';

export const usage = `usage: npm run backup -- <replica|inventory> <action> [options]
  actions:
    backup  [--type full|diff|incr]          a backup now, to both repos (diff by default)
    backups                                  the backups of each repo, their sizes, the recoverable window
    restore --to <time|latest> [--into scratch|in-place] [--set LABEL] [--repo 1|2] [--yes]
                                             time: ISO 8601 with its zone (2026-12-02T01:30:00Z);
                                             scratch (default): a separate instance beside the primary;
                                             in-place: replaces the primary's data (asks first; the
                                             current data is kept aside)
    verify                                   verify both repos, restore the latest into scratch, check it
  inventory options:
    --limit HOST                             the db host (the inventory's first db host by default)
    --identity FILE --known-hosts FILE --vault-password-file FILE   as for npm run provision`;

export class UsageError extends Error {}

const common = {
  limit: z.string().min(1).optional(),
  identity: z
    .string()
    .min(1)
    .default(process.env.PROVISION_SSH_KEY ?? path.join(homedir(), '.ssh', 'id_ed25519')),
  'known-hosts': z
    .string()
    .min(1)
    .default(process.env.PROVISION_KNOWN_HOSTS ?? path.join(homedir(), '.ssh', 'known_hosts')),
  'vault-password-file': z.string().min(1).optional(),
};
const onlyFor = (action: string) => z.undefined({ error: `is only for ${action}` }).optional();
const none = {
  type: onlyFor('backup'),
  to: onlyFor('restore'),
  into: onlyFor('restore'),
  set: onlyFor('restore'),
  repo: onlyFor('restore'),
  yes: z.literal(false, { error: 'is only for restore --into in-place' }).default(false),
};
const repo = z.enum(['1', '2'], 'must be 1 or 2').transform(Number).optional();
const label = z
  .string()
  .regex(
    /^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$/,
    'is not a backup label (e.g. 20261202-010000F or 20261202-010000F_20261203-010000D)',
  );

const commandSchema = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('backup'),
    ...common,
    ...none,
    type: z.enum(['full', 'diff', 'incr'], 'must be full, diff or incr').default('diff'),
  }),
  z.strictObject({ action: z.literal('backups'), ...common, ...none }),
  z.strictObject({ action: z.literal('verify'), ...common, ...none }),
  z.strictObject({
    action: z.literal('restore'),
    ...common,
    ...none,
    to: z.string({ error: 'restore needs --to <time|latest>' }).min(1, 'restore needs --to <time|latest>'),
    into: z.enum(['scratch', 'in-place'], 'must be scratch or in-place').default('scratch'),
    set: label.optional(),
    repo,
    yes: z.boolean().default(false),
  }),
]);

export type BackupCommand = z.output<typeof commandSchema> & { target: string; restoreTarget?: RestoreTarget };

/** The words after the script, checked; a UsageError (or RefusedError for --to) says which is wrong. */
export function parseCommand(args: readonly string[]): BackupCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        type: { type: 'string' },
        to: { type: 'string' },
        into: { type: 'string' },
        set: { type: 'string' },
        repo: { type: 'string' },
        yes: { type: 'boolean' },
        limit: { type: 'string' },
        identity: { type: 'string' },
        'known-hosts': { type: 'string' },
        'vault-password-file': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${usage}`);
  }
  const { help, ...values } = parsed.values;
  if (help) throw new UsageError(usage);
  const [target, action, ...extra] = parsed.positionals;
  if (target === undefined || action === undefined || extra.length > 0)
    throw new UsageError(`name a target (replica or an inventory) and one action\n${usage}`);
  if (!['backup', 'backups', 'restore', 'verify'].includes(action))
    throw new UsageError(`unknown action ${JSON.stringify(action)} (backup, backups, restore, verify)\n${usage}`);
  const checked = commandSchema.safeParse({ action, ...values });
  if (!checked.success) {
    const problems = checked.error.issues.map((issue) =>
      issue.path.length === 0
        ? issue.message
        : issue.code === 'unrecognized_keys'
          ? issue.message
          : `--${issue.path.join('.')} ${issue.message}`,
    );
    throw new UsageError(`${problems.join('; ')}\n${usage}`);
  }
  const command: BackupCommand = { ...checked.data, target };
  if (command.action === 'restore') {
    try {
      command.restoreTarget = parseTarget(command.to);
    } catch (error) {
      if (error instanceof RefusedError) throw new UsageError(error.message);
      throw error;
    }
  }
  return command;
}
