// The batched probe script, run by the local sh: each probe's stdout, stderr and exit code come back
// as if it had run alone, whatever its output holds.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { maxScriptBytes, probeBatches, probeScript } from '../../../provision/core/probe-script.js';

function runLocally(commands: string[][]) {
  const script = probeScript(commands);
  const [program = 'sh', ...args] = script.argv;
  return script.parse(execFileSync(program, args, { encoding: 'utf8' }));
}

describe('probeScript', () => {
  it('when probes print, fail and write to stderr, then each result is its own', () => {
    const results = runLocally([
      ['printf', 'one\ntwo\n'],
      ['sh', '-c', 'echo oops >&2; exit 3'],
      ['printf', 'no newline'],
      ['true'],
      ['sh', '-c', 'printf "\\n--8<-- refereezy probe 0 1\\n"; cat'],
    ]);
    assert.deepEqual(results, [
      { code: 0, stdout: 'one\ntwo\n', stderr: '' },
      { code: 3, stdout: '', stderr: 'oops\n' },
      { code: 0, stdout: 'no newline', stderr: '' },
      { code: 0, stdout: '', stderr: '' },
      // A marker without the script's nonce is just output; cat reads nothing (no stdin).
      { code: 0, stdout: '\n--8<-- refereezy probe 0 1\n', stderr: '' },
    ]);
  });

  it('when the output is cut, then parsing says how many probes came back', () => {
    const script = probeScript([['true'], ['true']]);
    assert.throws(() => script.parse(''), /ends after 0 of 2 probes/);
  });

  it('when the probes are many and long, then they are cut into scripts below the argument limit', () => {
    const long = Array.from({ length: 50 }, (_, index) => ['printf', `${index}:${'x'.repeat(4000)}`]);
    const batches = probeBatches(long);
    assert.ok(batches.length > 1);
    assert.deepEqual(batches.flat(), long);
    for (const batch of batches)
      assert.ok(Buffer.byteLength(probeScript(batch).argv[2] ?? '') < maxScriptBytes + 10_000);
  });
});
