// Operations tested as tables: desired state + facts in, the exact commands (or a no-op and its reason) out.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it } from 'node:test';
import { commandLine } from '../../../provision/core/shell.js';
import type { FileFact } from '../../../provision/facts/files.js';
import { atomicWrite } from '../../../provision/operations/files.js';
import type { Plan } from '../../../provision/operations/operation.js';

export interface PlanRow {
  when: string;
  plan: () => Plan;
  /** The exact command lines, or [] for a no-op. */
  commands: string[];
  /** The no-op's reason (or the change's), matched. */
  reason: RegExp;
}

export function planTable(rows: PlanRow[]): void {
  for (const row of rows) {
    it(`when ${row.when}, then ${row.commands.length === 0 ? 'nothing is needed' : row.commands.map(shortLine).join(' ; ')}`, () => {
      const plan = row.plan();
      assert.deepEqual(
        plan.commands.map((command) => commandLine(command.argv)),
        row.commands,
      );
      assert.equal(plan.changed, row.commands.length > 0);
      assert.match(plan.reason, row.reason);
    });
  }
}

/** A command line for a test's name: an atomic write (a long sh -c script) by what it writes. */
export function shortLine(line: string): string {
  const write = /^sh -c 'set -eu\n.*refereezy-XXXXXX.*' write (\/.*)$/s.exec(line);
  return write ? `atomic write ${write[1] ?? ''}` : line;
}

/** The command line of an atomic write of this file (files.ts's atomicWrite). */
export const writeLine = (
  path: string,
  content: string,
  mode = '0644',
  owner = 'root',
  group = 'root',
  validate?: string,
): string => commandLine(atomicWrite({ path, content, mode, owner, group, validate }).argv);

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A regular file's fact as the probe reports it: root:root 0644 unless told otherwise. */
export const regularFileFact = (content: string, extra: Partial<FileFact> = {}): FileFact => ({
  type: 'regular file',
  owner: 'root',
  group: 'root',
  mode: 0o644,
  size: content.length,
  sha256: sha256(content),
  content,
  ...extra,
});
