import { homedir } from 'node:os';
import path from 'node:path';
import { parseArgv } from 'zx';
import { z } from 'zod';
import { parseSerial } from '../core/serial.js';
import { loginName } from '../validation/validators.js';

export const usage = `usage: npm run provision -- <inventory name|path> [options]
       NODE_OPTIONS=--import=tsx npx zx provision/main.ts <inventory name|path> [options]

  --check                   read facts and plan only: report every would-be change, change nothing
  --diff                    print the unified diff of every file that changes (or would)
  --limit a,b               only these hosts or groups
  --tags a,b                only these roles
  --parallel N              hosts at a time (10)
  --serial 1,5,50%          converge the hosts in batches of these sizes (the last repeats), each batch
                            finished, handlers included, before the next starts (Ansible's serial)
  --max-fail-percentage N   stop after a batch in which more than N% of the hosts failed (default:
                            only when every host of a batch failed)
  --allow-restart a,b       let these roles or hosts restart what only they serve (db: PostgreSQL);
                            otherwise the recap says "restart pending" and it keeps running
  --json                    the recap as JSON on stdout (progress goes to stderr)
  --identity FILE           private key (PROVISION_SSH_KEY, else ~/.ssh/id_ed25519, else ssh-agent's keys);
                            encrypted: from ssh-agent (SSH_AUTH_SOCK) when it holds it, else its passphrase
  --passphrase-file FILE    the key's passphrase (PROVISION_SSH_PASSPHRASE_FILE); else asked on the terminal
  --known-hosts FILE        pinned host keys (PROVISION_KNOWN_HOSTS, else ~/.ssh/known_hosts)
  --trust-new-host-keys     pin (and print) the key of a host not yet known; a changed key is always refused
  --bastion-user NAME       jump as NAME instead of the inventory's bastion.user (a new bastion's first run: admin)
  --vault-password-file F   the vault's password (else PROVISION_VAULT_PASSWORD_FILE, PROVISION_VAULT_PASSWORD)`;

export class UsageError extends Error {}

/** --help: the usage goes to stdout and the exit code is 0. */
export class HelpRequested extends Error {
  constructor() {
    super(usage);
  }
}

const list = z
  .string()
  .min(1)
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

/** zx's argv (minimist: every flag is a string, boolean or array), checked into the run's options. */
const optionsSchema = z.strictObject({
  _: z.array(z.union([z.string(), z.number()]).transform(String)).length(1, 'name exactly one inventory'),
  check: z.boolean().default(false),
  diff: z.boolean().default(false),
  limit: list.optional(),
  tags: list.optional(),
  parallel: z.coerce.number().int().min(1).max(100).default(10),
  serial: z
    .string()
    .transform((value, context) => {
      try {
        return parseSerial(value);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  'max-fail-percentage': z.coerce.number().int().min(0).max(100).optional(),
  'allow-restart': list.optional(),
  json: z.boolean().default(false),
  identity: z.string().min(1).optional(),
  'passphrase-file': z.string().min(1).optional(),
  'known-hosts': z
    .string()
    .min(1)
    .default(process.env.PROVISION_KNOWN_HOSTS ?? path.join(homedir(), '.ssh', 'known_hosts')),
  'trust-new-host-keys': z.boolean().default(false),
  'vault-password-file': z.string().min(1).optional(),
  'bastion-user': loginName.optional(),
  help: z.boolean().default(false),
});

export type CliOptions = Omit<z.output<typeof optionsSchema>, '_' | 'help' | 'identity'> & {
  inventory: string;
  identity: string;
  /** Whether the key was named (--identity, PROVISION_SSH_KEY) rather than the default path. */
  identityNamed: boolean;
};

/**
 * The options of a run, or a UsageError that says which one is wrong. `args` are the words after
 * the script (zx's minimist, told which flags take no value so `--check prod` keeps `prod`).
 */
export function parseOptions(args: string[]): CliOptions {
  const argv = parseArgv(args, {
    boolean: ['check', 'diff', 'json', 'trust-new-host-keys', 'help'],
    string: [
      'limit',
      'tags',
      'parallel',
      'serial',
      'max-fail-percentage',
      'allow-restart',
      'identity',
      'passphrase-file',
      'known-hosts',
      'vault-password-file',
      'bastion-user',
    ],
    default: { check: false, diff: false, json: false, 'trust-new-host-keys': false, help: false },
  });
  // minimist gives every declared string flag a value ("" when absent): absent means default.
  for (const [key, value] of Object.entries(argv)) if (value === '') Reflect.deleteProperty(argv, key);
  // Asked for, it wins over whatever else is wrong with the line.
  if (argv.help === true) throw new HelpRequested();
  const parsed = optionsSchema.safeParse(argv);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown option ${issue.keys.map((key) => `--${key}`).join(', ')}`;
      const name = issue.path[0] === '_' ? '<inventory>' : `--${String(issue.path[0])}`;
      return `${name}: ${issue.message}`;
    });
    throw new UsageError(`${problems.join('\n')}\n${usage}`);
  }
  const {
    _: [inventory = ''],
    help,
    identity: given,
    ...options
  } = parsed.data;
  if (help) throw new HelpRequested();
  const named = given ?? process.env.PROVISION_SSH_KEY;
  // Whether the key exists is resolveIdentity's to say, after the inventory was checked: its errors come first.
  const identity = named ?? path.join(homedir(), '.ssh', 'id_ed25519');
  const passphraseFile = options['passphrase-file'] ?? process.env.PROVISION_SSH_PASSPHRASE_FILE;
  return {
    ...options,
    ...(passphraseFile ? { 'passphrase-file': passphraseFile } : {}),
    identity,
    identityNamed: named !== undefined,
    inventory,
  };
}
