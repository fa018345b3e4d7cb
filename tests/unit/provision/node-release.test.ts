import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { NodePackage } from '../../../provision/releases/node-release.js';
import {
  archiveContents,
  buildSteps,
  inputFiles,
  inputKey,
  repoRoot,
} from '../../../provision/releases/node-release.js';
import { apiPackage } from '../../../provision/roles/api/release.js';
import { notifierPackage } from '../../../provision/roles/monitoring/notifier.js';

/** The final stage of a Dockerfile: what the image holds. */
function finalStage(pkg: NodePackage): string {
  const dockerfile = readFileSync(path.join(repoRoot, pkg.dockerfile), 'utf8');
  return dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
}

describe('Node package releases', () => {
  for (const pkg of [apiPackage, notifierPackage]) {
    it(`when ${pkg.dockerfile} builds ${pkg.dir}, then it runs the release's build steps`, () => {
      const dockerfile = readFileSync(path.join(repoRoot, pkg.dockerfile), 'utf8');
      assert.match(dockerfile, new RegExp(`^WORKDIR /src/${pkg.dir}$`, 'm'));
      // The same npm commands in the same order; the release adds only flags about the operator's machine (offline cache, audit).
      const commands = buildSteps.map((step) =>
        step.filter((arg) => !arg.startsWith('--') || arg === '--omit=dev').join(' '),
      );
      assert.deepEqual(commands, ['npm ci', 'npm run build', 'npm prune --omit=dev']);
      const at = commands.map((command) => dockerfile.indexOf(command));
      assert.ok(
        at.every((index, i) => index > (at[i - 1] ?? 0)),
        `${pkg.dockerfile} does not run ${commands.join(', ')} in this order`,
      );
    });

    it(`when the image of ${pkg.dir} is assembled, then it copies what the release holds, no more, no less`, () => {
      const copied = [...finalStage(pkg).matchAll(/^COPY (?:--from=build \/src\/\S+\/|\S+\/)(\S+) \.\/(\S*)$/gm)].map(
        (match) => match[2] || match[1],
      );
      assert.deepEqual(copied.sort(), archiveContents(pkg).sort());
    });
  }

  it('when the inputs are listed, then they are the sources and manifests of the package (no tests) and the base tsconfig', () => {
    const files = inputFiles(notifierPackage);
    assert.equal(files[0], 'tsconfig.base.json');
    assert.ok(files.includes('monitoring/notifier/package-lock.json'));
    assert.ok(files.includes('monitoring/notifier/src/main.ts'));
    assert.ok(!files.some((file) => file.endsWith('.test.ts')));
    assert.ok(inputFiles(apiPackage).some((file) => file.startsWith('api/migrations/')));
  });

  it('when two packages are keyed, then their keys differ, and each is stable', () => {
    assert.match(inputKey(notifierPackage), /^[0-9a-f]{64}$/);
    assert.equal(inputKey(notifierPackage), inputKey(notifierPackage));
    assert.notEqual(inputKey(notifierPackage), inputKey(apiPackage));
  });
});
