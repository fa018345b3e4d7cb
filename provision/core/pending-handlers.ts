import { dirname } from 'node:path';
import { atomicWrite } from '../operations/files.js';
import type { Fact } from '../facts/fact.js';
import { lines } from '../facts/fact.js';
import type { Command } from '../operations/operation.js';

/**
 * Handlers notified on a host but not run yet, kept on the host itself: a task that changed a config
 * records its handler here before going on, and a handler leaves the file once it has succeeded. A run
 * that fails, or loses its connection, before the handler ran leaves it here, and the next run (from
 * any operator's machine) runs it. One "<role>/<handler>" a line.
 */
export const pendingHandlersFile = '/var/lib/refereezy-provision/pending-handlers';

export interface PendingHandler {
  role: string;
  handler: string;
}

export const pendingKey = ({ role, handler }: PendingHandler): string => `${role}/${handler}`;

export function parsePendingKey(line: string): PendingHandler | null {
  const slash = line.indexOf('/');
  if (slash <= 0 || slash === line.length - 1) return null;
  return { role: line.slice(0, slash), handler: line.slice(slash + 1) };
}

/** The pending handlers' keys, in the order they were notified; [] when there is no file. */
export const pendingHandlersFact: Fact<string[]> = {
  name: `pending handlers ${pendingHandlersFile}`,
  command: ['sh', '-c', '[ ! -f "$1" ] || cat -- "$1"', 'sh', pendingHandlersFile],
  parse: ({ stdout }) => [...new Set(lines(stdout).filter((line) => parsePendingKey(line) !== null))],
};

/** The command that leaves exactly these keys in the file (removing it when there are none). */
export function savePendingHandlers(keys: readonly string[]): Command[] {
  if (keys.length === 0) return [{ argv: ['rm', '-f', '--', pendingHandlersFile] }];
  // Written whole or not at all: a cut connection must not leave half a list (and lose a handler).
  return [
    { argv: ['mkdir', '-p', '-m', '0700', '--', dirname(pendingHandlersFile)] },
    atomicWrite({ path: pendingHandlersFile, content: `${keys.join('\n')}\n`, mode: '0600' }),
  ];
}
