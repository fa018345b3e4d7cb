import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseOptions, UsageError } from '../../../provision/cli/options.js';
import { repoRoot } from '../../support/paths.js';

// Any existing file stands for the key: the options check only that it exists.
const key = ['--identity', path.join(repoRoot, 'package.json')];

describe('provision CLI: serial, max fail percentage, allowed restarts', () => {
  it('when --serial, --max-fail-percentage and --allow-restart are given, then they are parsed', () => {
    const options = parseOptions([
      'prod',
      ...key,
      '--serial',
      '1,50%',
      '--max-fail-percentage',
      '0',
      '--allow-restart',
      'db,api1',
    ]);
    assert.deepEqual(options.serial, [{ hosts: 1 }, { percent: 50 }]);
    assert.equal(options['max-fail-percentage'], 0);
    assert.deepEqual(options['allow-restart'], ['db', 'api1']);
  });

  it('when they are absent, then there are no batches, no fail percentage and no restart allowed', () => {
    const options = parseOptions(['prod', ...key]);
    assert.equal(options.serial, undefined);
    assert.equal(options['max-fail-percentage'], undefined);
    assert.equal(options['allow-restart'], undefined);
  });

  it('when a value is wrong, then the error names the option and the word', () => {
    assert.throws(
      () => parseOptions(['prod', ...key, '--serial', '0']),
      (error: unknown) => error instanceof UsageError && /^--serial: "0": a host count/.test(error.message),
    );
    assert.throws(
      () => parseOptions(['prod', ...key, '--max-fail-percentage', '101']),
      (error: unknown) => error instanceof UsageError && /^--max-fail-percentage: /.test(error.message),
    );
  });
});
