import { PlanError } from '../core/errors.js';
import { aptFact, type AptFact } from '../facts/apt.js';
import type { Operation, Plan } from './operation.js';
import { change, noop, run } from './operation.js';

export interface PackagesDesired {
  packages: string[];
  present: boolean;
}

const packageName = /^[a-z0-9][a-z0-9+.-]+$/;
/**
 * How long apt waits for dpkg's lock before it fails: unattended-upgrades (daily, and at first boot
 * cloud-init's own apt run) holds it for minutes; failing at once made a converge fail at random.
 */
export const dpkgLockTimeoutSeconds = 600;
const apt = (...argv: string[]) =>
  run(
    'env',
    'DEBIAN_FRONTEND=noninteractive',
    'apt-get',
    '-o',
    `DPkg::Lock::Timeout=${dpkgLockTimeoutSeconds}`,
    ...argv,
  );
// What apt asks for after "dpkg was interrupted": finish unpacked and half-configured packages, keeping
// the configuration files as they are (no prompt can be answered here). dpkg has no lock timeout of its
// own: if another dpkg runs at that moment this fails naming the lock, and the next run tries again.
const recover = [
  run('env', 'DEBIAN_FRONTEND=noninteractive', 'dpkg', '--force-confdef', '--force-confold', '--configure', '-a'),
];

export function planPackages(desired: PackagesDesired, fact: AptFact): Plan {
  const list = (names: string[]) => names.join(', ');
  const recovery = fact.interrupted === null ? [] : recover;
  const recovered = fact.interrupted === null ? '' : `recover: ${fact.interrupted} (dpkg --configure -a); `;
  if (desired.present) {
    const missing = desired.packages.filter((name) => !fact.installed.has(name));
    if (missing.length === 0) {
      if (recovery.length > 0)
        return change(
          `${recovered}${desired.packages.length === 1 ? 'package' : 'packages'} ${list(desired.packages)} installed`,
          recovery,
        );
      return noop(`${desired.packages.length === 1 ? 'package' : 'packages'} ${list(desired.packages)} installed`);
    }
    return change(`${recovered}install ${list(missing)}`, [
      ...recovery,
      apt('update', '-qq'),
      apt('install', '-y', '-qq', '--no-install-recommends', '--', ...missing),
    ]);
  }
  const present = desired.packages.filter((name) => fact.installed.has(name));
  if (present.length === 0) {
    if (recovery.length > 0)
      return change(
        `${recovered}${desired.packages.length === 1 ? 'package' : 'packages'} ${list(desired.packages)} not installed`,
        recovery,
      );
    return noop(`${desired.packages.length === 1 ? 'package' : 'packages'} ${list(desired.packages)} not installed`);
  }
  return change(`${recovered}remove ${list(present)}`, [...recovery, apt('remove', '-y', '-qq', '--', ...present)]);
}

/** Debian packages installed (present) or removed (absent); an interrupted dpkg is recovered first. */
export function packages(desired: PackagesDesired): Operation<AptFact> {
  const invalid = desired.packages.filter((name) => !packageName.test(name));
  if (invalid.length > 0 || desired.packages.length === 0)
    throw new PlanError('', `invalid package list: ${invalid.join(', ') || '(empty)'}`);
  return { fact: aptFact(desired.packages), plan: (fact) => planPackages(desired, fact) };
}
