#!/usr/bin/env -S NODE_OPTIONS=--import=tsx npx zx
// Converges an inventory's hosts through its bastion: `npm run provision -- prod --check --diff`
// (or `NODE_OPTIONS=--import=tsx npx zx provision/main.ts prod`). See provision/README.md.
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { HelpRequested, parseOptions, UsageError } from './cli/options.js';
import { IdentityError, promptHidden, resolveIdentity } from './connectors/identity.js';
import { recapLines, taskLine } from './cli/report.js';
import { planPlay, PlayError, preparePlay, runPlay } from './core/play.js';
import { InventoryError } from './validation/yaml-file.js';
import { limitHosts } from './inventories/limit.js';
import { loadInventory, resolveInventoryPath } from './inventories/load.js';
import { hostsOf } from './inventories/merge.js';
import { vaultPassword, VaultError } from './vault/vault.js';

/** The words after this script, whether node or zx's CLI runs it. */
function scriptArgs(): string[] {
  const self = fileURLToPath(import.meta.url);
  const at = process.argv.findIndex((arg) => path.resolve(arg) === self);
  return process.argv.slice(at === -1 ? 2 : at + 1);
}

async function main(): Promise<number> {
  const options = parseOptions(scriptArgs());
  const loaded = loadInventory(resolveInventoryPath(options.inventory), {
    vaultPassword: (file) =>
      vaultPassword(
        file,
        options['vault-password-file'] === undefined ? {} : { passwordFile: options['vault-password-file'] },
      ),
  });
  const inventory =
    options['bastion-user'] === undefined
      ? loaded
      : { ...loaded, bastion: { ...loaded.bastion, user: options['bastion-user'] } };
  const allHosts = hostsOf(inventory);
  let hosts;
  try {
    hosts = limitHosts(allHosts, options.limit);
  } catch (error) {
    throw new UsageError(`${inventory.file}: ${(error as Error).message}`);
  }
  const plans = planPlay({
    inventory,
    hosts,
    allHosts,
    tags: options.tags,
    inputs: await preparePlay({ inventory, hosts, allHosts, tags: options.tags }),
  });
  // Decided (and an encrypted key opened) before anything connects.
  const auth = await resolveIdentity({
    identityFile: options.identity,
    identityNamed: options.identityNamed,
    passphraseFile: options['passphrase-file'],
    agentSocket: process.env.SSH_AUTH_SOCK || undefined,
    prompt: process.stdin.isTTY ? promptHidden : undefined,
  });

  // With --json the recap is stdout's only content: progress goes to stderr.
  const progress = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  const started = performance.now();
  progress(
    `${options.check ? 'CHECK' : 'CONVERGE'} ${inventory.file}: ${hosts.map((host) => host.name).join(', ')} through ${inventory.bastion.user}@${inventory.bastion.host}:${inventory.bastion.port} with ${auth.description}`,
  );

  const recaps = await runPlay({
    inventory,
    plans,
    hosts,
    allHosts,
    tags: options.tags,
    parallel: options.parallel,
    serial: options.serial,
    maxFailPercentage: options['max-fail-percentage'],
    allowRestart: options['allow-restart'],
    check: options.check,
    ssh: {
      auth,
      knownHostsFile: options['known-hosts'],
      trustNewHostKeys: options['trust-new-host-keys'],
      onPinned: (name, fingerprint) =>
        progress(`pinned the new host key of ${name}: ${fingerprint} (in ${options['known-hosts']})`),
    },
    onProgress: progress,
    onTask: (report) => {
      progress(taskLine(report));
      if (options.diff && report.diff) progress(report.diff.trimEnd());
    },
  });

  const seconds = (performance.now() - started) / 1000;
  if (options.json)
    process.stdout.write(
      `${JSON.stringify({ inventory: inventory.file, check: options.check, seconds, hosts: recaps }, null, 2)}\n`,
    );
  else for (const line of recapLines(recaps, seconds)) progress(line);
  return recaps.some(
    (recap) => recap.status === 'failed' || recap.status === 'unreachable' || recap.status === 'skipped',
  )
    ? 2
    : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  if (error instanceof HelpRequested) {
    process.stdout.write(`${error.message}\n`);
    process.exitCode = 0;
  } else {
    const expected =
      error instanceof InventoryError ||
      error instanceof VaultError ||
      error instanceof UsageError ||
      error instanceof PlayError ||
      error instanceof IdentityError;
    process.stderr.write(
      `${expected ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}
