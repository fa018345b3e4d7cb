import { parseArgs } from 'node:util';
import { z } from 'zod';

export const usage = `usage: npm run dr -- <replica|inventory> <command> [options]
  commands:
    status                                  each cluster's members, roles, lag; etcd's health
    switchover [--candidate NODE]           planned: the primary hands over to a caught-up standby
    failover [--candidate NODE] [--yes]     unplanned: promote a standby now (asks first when the
                                            primary is healthy; refused without an etcd quorum)
    promote-dr [--yes]                      the DR region becomes the primary region, the old one fenced
    failback [--yes]                        back to the primary region once it has caught up again
    drill [--scenario zone|region|failback] [--production]
                                            a disaster under write load: RTO, RPO, split brain;
                                            the report is printed and written to .local/dr-reports/
  inventory options:
    --identity FILE --known-hosts FILE --vault-password-file FILE   as for npm run provision`;

export class UsageError extends Error {}
export class RefusedError extends Error {}

const commands = ['status', 'switchover', 'failover', 'promote-dr', 'failback', 'drill'] as const;
const nodeName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'is not a node name');

const commandSchema = z.strictObject({
  target: z.string().min(1),
  command: z.enum(commands, `must be one of ${commands.join(', ')}`),
  candidate: nodeName.optional(),
  yes: z.boolean().default(false),
  production: z.boolean().default(false),
  scenario: z.enum(['zone', 'region', 'failback'], 'must be zone, region or failback').default('zone'),
  identity: z.string().optional(),
  'known-hosts': z.string().optional(),
  'vault-password-file': z.string().optional(),
});
export type DrCommand = z.output<typeof commandSchema>;

export function parseCommand(args: readonly string[]): DrCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        candidate: { type: 'string' },
        yes: { type: 'boolean' },
        production: { type: 'boolean' },
        scenario: { type: 'string' },
        identity: { type: 'string' },
        'known-hosts': { type: 'string' },
        'vault-password-file': { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${usage}`);
  }
  const [target, command, ...rest] = parsed.positionals;
  if (!target || !command) throw new UsageError(usage);
  if (rest.length) throw new UsageError(`unexpected argument ${rest.join(' ')}\n${usage}`);
  const result = commandSchema.safeParse({ target, command, ...parsed.values });
  if (!result.success) {
    throw new UsageError(
      `${result.error.issues.map((issue) => `${issue.path.join('.') ? `--${issue.path.join('.')} ` : ''}${issue.message}`).join('; ')}\n${usage}`,
    );
  }
  const value = result.data;
  if (value.candidate !== undefined && !['switchover', 'failover'].includes(value.command))
    throw new UsageError(`--candidate is only for switchover and failover\n${usage}`);
  if ((value.production || parsed.values.scenario !== undefined) && value.command !== 'drill')
    throw new UsageError(`--production and --scenario are only for drill\n${usage}`);
  return value;
}
