import { PlanError } from '../core/errors.js';
import { isLoginName } from '../validation/validators.js';
import type { UserFact } from '../facts/users.js';
import { groupFact, userFact } from '../facts/users.js';
import type { Operation, Plan } from './operation.js';
import { change, noop, run } from './operation.js';

export interface GroupDesired {
  name: string;
  system?: boolean;
}

export interface UserDesired {
  name: string;
  /** Supplementary groups the user must be in (others are left alone). */
  groups?: string[];
  shell?: string;
}

export function planGroup(desired: GroupDesired, exists: boolean): Plan {
  if (exists) return noop(`group ${desired.name} exists`);
  return change(`create group ${desired.name}`, [
    run('groupadd', ...(desired.system ? ['--system'] : []), '--', desired.name),
  ]);
}

export function planUser(desired: UserDesired, current: UserFact | null): Plan {
  const groups = desired.groups ?? [];
  const shell = desired.shell ?? '/bin/bash';
  if (current === null) {
    return change(`create user ${desired.name}`, [
      run(
        'useradd',
        '--create-home',
        '--shell',
        shell,
        ...(groups.length > 0 ? ['--groups', groups.join(',')] : []),
        '--',
        desired.name,
      ),
    ]);
  }
  const missing = groups.filter((group) => !current.groups.includes(group));
  const what: string[] = [];
  const argv = ['usermod'];
  if (missing.length > 0) {
    argv.push('--append', '--groups', missing.join(','));
    what.push(`add to ${missing.join(', ')}`);
  }
  if (current.shell !== shell) {
    argv.push('--shell', shell);
    what.push(`shell ${current.shell} → ${shell}`);
  }
  if (what.length === 0)
    return noop(`user ${desired.name} exists${groups.length > 0 ? ` in ${groups.join(', ')}` : ''}`);
  return change(`user ${desired.name}: ${what.join(', ')}`, [run(...argv, '--', desired.name)]);
}

export function group(desired: GroupDesired): Operation<boolean> {
  if (!isLoginName(desired.name)) throw new PlanError('', `"${desired.name}" is not a group name`);
  return { fact: groupFact(desired.name), plan: (exists) => planGroup(desired, exists) };
}

/** A local user, in (at least) these groups, with this shell. */
export function user(desired: UserDesired): Operation<UserFact | null> {
  if (![desired.name, ...(desired.groups ?? [])].every(isLoginName))
    throw new PlanError('', `invalid user or group name in ${JSON.stringify(desired)}`);
  return { fact: userFact(desired.name), plan: (current) => planUser(desired, current) };
}
