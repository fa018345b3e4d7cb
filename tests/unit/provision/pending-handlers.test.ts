import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandLine } from '../../../provision/core/shell.js';
import { writeLine } from './plan-table.js';
import {
  parsePendingKey,
  pendingHandlersFact,
  pendingHandlersFile,
  pendingKey,
  savePendingHandlers,
} from '../../../provision/core/pending-handlers.js';

describe('pending handlers file', () => {
  it('when handlers are pending, then the file holds one "<role>/<handler>" a line, root-only', () => {
    const [mkdir, save] = savePendingHandlers(['common/reload sshd', 'monitoring/restart prometheus']);
    assert.equal(commandLine(mkdir?.argv ?? []), 'mkdir -p -m 0700 -- /var/lib/refereezy-provision');
    assert.equal(
      commandLine(save?.argv ?? []),
      writeLine(pendingHandlersFile, 'common/reload sshd\nmonitoring/restart prometheus\n', '0600'),
    );
    assert.equal(save?.stdin, 'common/reload sshd\nmonitoring/restart prometheus\n');
  });

  it('when none is pending any more, then the file is removed', () => {
    assert.deepEqual(
      savePendingHandlers([]).map((command) => commandLine(command.argv)),
      [`rm -f -- ${pendingHandlersFile}`],
    );
  });

  it('when the file is read, then its keys come back in order, once each, malformed lines dropped; no file is none', () => {
    const parse = (stdout: string) => pendingHandlersFact.parse({ code: 0, stdout, stderr: '' });
    assert.deepEqual(parse('common/reload sshd\nweb/reload nginx\ncommon/reload sshd\nnonsense\n/x\n'), [
      'common/reload sshd',
      'web/reload nginx',
    ]);
    assert.deepEqual(parse(''), []);
    assert.deepEqual(pendingHandlersFact.command.slice(-1), [pendingHandlersFile]);
  });

  it('when a key is made and read back, then a handler name may hold a slash (the role never does)', () => {
    assert.equal(pendingKey({ role: 'web', handler: 'reload nginx/cdn' }), 'web/reload nginx/cdn');
    assert.deepEqual(parsePendingKey('web/reload nginx/cdn'), { role: 'web', handler: 'reload nginx/cdn' });
    assert.equal(parsePendingKey('web/'), null);
  });
});
