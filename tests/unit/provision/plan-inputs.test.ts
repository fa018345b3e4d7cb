// Planning is pure: what the roles read (repo files, trees, releases) is read before planning, and
// their tasks look it up; no module of provision/roles/ but the preparation touches the disk.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Host } from '../../../provision/inventories/schema.js';
import { readTree, tarball } from '../../../provision/operations/tree.js';
import { neededInputs, PlanInputs, type InputNeeds } from '../../../provision/roles/inputs.js';
import { notifierPackage } from '../../../provision/roles/monitoring/notifier.js';
import { repoRoot } from '../../support/paths.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'plan-inputs-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const write = (name: string, content: string) => {
  const file = path.join(scratch, name);
  writeFileSync(file, content);
  return file;
};
const config = pathToFileURL(write('a.conf', 'a = 1\n'));
const releaseFile = write('release.tar.gz', 'a stand-in release');
const webApp = new URL('../../../web/', import.meta.url);
const host = (name: string): Host => ({ name, address: '10.0.0.1', port: 22, groups: [], vars: {} });

describe('plan inputs: read before planning, looked up by the tasks', async () => {
  const inputs = await PlanInputs.prepare([
    { files: [config], trees: [webApp], releases: [{ pkg: notifierPackage, file: releaseFile }] },
    // Named twice: read once.
    { files: [config] },
  ]);

  it('when a prepared source is looked up, then it is what the disk held before planning', async () => {
    writeFileSync(config, 'a = 2\n');
    assert.equal(inputs.text(config), 'a = 1\n');
    assert.deepEqual(inputs.tree(webApp).files, readTree(webApp));
    assert.deepEqual(inputs.tree(webApp).archive, await tarball(readTree(webApp)));
    const release = inputs.release({ pkg: notifierPackage, file: releaseFile });
    assert.equal(release.sha256, createHash('sha256').update('a stand-in release').digest('hex'));
    assert.equal(release.id, release.sha256.slice(0, 16));
  });

  it('when a source was not named in the inputs, then the lookup says so (nothing is read at planning)', () => {
    const other = pathToFileURL(path.join(scratch, 'other.conf'));
    const cases: { lookup: () => unknown; error: RegExp }[] = [
      {
        lookup: () => inputs.text(other),
        error: /other\.conf was not read before planning: name it in the role's inputs/,
      },
      { lookup: () => inputs.tree(config), error: /a\.conf was not read before planning/ },
      {
        lookup: () => inputs.release({ pkg: notifierPackage, file: '/elsewhere.tar.gz' }),
        error: /the notifier release \(\/elsewhere\.tar\.gz\) was not prepared before planning/,
      },
      {
        lookup: () => inputs.release({ pkg: notifierPackage }),
        error: /the notifier release \(built from the repo\) was not prepared before planning/,
      },
    ];
    for (const { lookup, error } of cases) assert.throws(lookup, error);
  });

  it("when a role refuses a host's vars, then it needs nothing for that host (planning says why)", () => {
    const needs: InputNeeds = { files: [config] };
    const roles = {
      fine: { inputs: () => needs },
      refusing: {
        inputs: () => {
          throw new Error('bad var');
        },
      },
      none: {},
    };
    const cases = [
      { roles: [roles.fine], expected: [needs] },
      { roles: [roles.refusing], expected: [] },
      { roles: [roles.none, roles.fine, roles.refusing], expected: [needs] },
    ];
    for (const { roles: of, expected } of cases)
      assert.deepEqual(
        neededInputs([host('h1')], { hosts: [] }, () => of),
        expected,
      );
  });
});

describe('provision/roles/: planning reads no file and builds nothing', () => {
  it('when every module of the roles is read, then only the preparation (inputs.ts) imports the file system or runs a program', () => {
    const root = path.join(repoRoot, 'provision', 'roles');
    const modules = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
    assert.ok(modules.length > 20, `read only ${modules.length} modules`);
    const offenders = modules.filter(
      (file) =>
        file !== 'inputs.ts' &&
        /from 'node:(fs|fs\/promises|child_process)'|\bnodeRelease\(/.test(
          readFileSync(path.join(root, file), 'utf8').replace(/^import type .*$/gm, ''),
        ),
    );
    assert.deepEqual(offenders, []);
  });
});
