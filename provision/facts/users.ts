import type { Fact } from './fact.js';
import { lines } from './fact.js';

export interface UserFact {
  name: string;
  home: string;
  shell: string;
  /** Every group the user is in, the primary one first. */
  groups: string[];
}

/** A user's passwd entry and groups; null when there is no such user. */
export function userFact(name: string): Fact<UserFact | null> {
  return {
    name: `user ${name}`,
    command: ['sh', '-c', 'getent passwd "$1" || exit 0; id -nG "$1"', 'sh', name],
    parse: ({ stdout }) => {
      const [passwd, groups = ''] = lines(stdout);
      if (!passwd) return null;
      const fields = passwd.split(':');
      return { name, home: fields[5] ?? '', shell: fields[6] ?? '', groups: groups.split(' ').filter(Boolean) };
    },
  };
}

/** Whether a group exists. */
export function groupFact(name: string): Fact<boolean> {
  return { name: `group ${name}`, command: ['getent', 'group', name], parse: ({ code }) => code === 0 };
}
