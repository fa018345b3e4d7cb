import { PlanError } from '../connectors/errors.js';
import { installedPackages } from '../facts/apt.js';
import type { Operation, Plan } from './operation.js';
import { change, noop, run } from './operation.js';

export interface PackagesDesired {
  packages: string[];
  present: boolean;
}

const packageName = /^[a-z0-9][a-z0-9+.-]+$/;
const apt = (...argv: string[]) => run('env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...argv);

export function planPackages(desired: PackagesDesired, installed: Set<string>): Plan {
  const list = (names: string[]) => names.join(', ');
  if (desired.present) {
    const missing = desired.packages.filter((name) => !installed.has(name));
    if (missing.length === 0) return noop(`${desired.packages.length === 1 ? 'package' : 'packages'} ${list(desired.packages)} installed`);
    return change(`install ${list(missing)}`, [apt('update', '-qq'), apt('install', '-y', '-qq', '--no-install-recommends', '--', ...missing)]);
  }
  const present = desired.packages.filter((name) => installed.has(name));
  if (present.length === 0) return noop(`${desired.packages.length === 1 ? 'package' : 'packages'} ${list(desired.packages)} not installed`);
  return change(`remove ${list(present)}`, [apt('remove', '-y', '-qq', '--', ...present)]);
}

/** Debian packages installed (present) or removed (absent). */
export function packages(desired: PackagesDesired): Operation<Set<string>> {
  const invalid = desired.packages.filter((name) => !packageName.test(name));
  if (invalid.length > 0 || desired.packages.length === 0) throw new PlanError('', `invalid package list: ${invalid.join(', ') || '(empty)'}`);
  return { fact: installedPackages(desired.packages), plan: (installed) => planPackages(desired, installed) };
}
