// Blue-green deploys: `npm run deploy -- <replica|inventory> <deploy|rollback|status|contract|unlock> [--version <v>]`.
// docs/runbooks/deploy.md says when to use which.
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { contract, deploy, DeployRefused, rollback, status } from './blue-green.js';
import { DeployLock, DeployLockedError } from './lock.js';
import { ReplicaTarget } from './replica.js';
import type { DeployTarget } from './target.js';

const usage =
  'usage: npm run deploy -- <replica|INVENTORY> <deploy --version V | rollback | status | contract [--retire-fallback] | unlock>';

function targetFor(environment: string): DeployTarget {
  if (environment === 'replica') return new ReplicaTarget();
  throw new DeployRefused(
    `environment "${environment}": blue-green on an inventory's hosts is designed (docs/runbooks/deploy.md, "Production") but not built yet; only "replica" deploys here`,
  );
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { version: { type: 'string' }, 'retire-fallback': { type: 'boolean', default: false } },
  });
  const [environment, action] = positionals;
  if (!environment || !action) {
    console.error(usage);
    return 2;
  }
  const target = targetFor(environment);
  const say = (line: string) => console.log(line);
  let lines: string[];
  switch (action) {
    case 'deploy':
      if (!values.version) {
        console.error(`deploy needs --version (an image tag: the commit sha)\n${usage}`);
        return 2;
      }
      lines = (await deploy(target, values.version, say)).lines;
      break;
    case 'rollback':
      lines = (await rollback(target)).lines;
      break;
    case 'status':
      lines = (await status(target)).lines;
      break;
    case 'contract':
      lines = (await contract(target, values['retire-fallback'])).lines;
      break;
    case 'unlock': {
      const holder = DeployLock.holder(target.lockFile);
      rmSync(target.lockFile, { force: true });
      lines = [
        holder
          ? `removed the lock of ${holder.who} (pid ${holder.pid}, "${holder.action}", since ${holder.since})`
          : 'no lock held',
      ];
      break;
    }
    default:
      console.error(usage);
      return 2;
  }
  for (const line of lines) console.log(line);
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  if (error instanceof DeployRefused || error instanceof DeployLockedError) {
    console.error(error.message);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
