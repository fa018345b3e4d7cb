import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  assetObjects,
  AssetsError,
  immutableCacheControl,
  manifestKey,
  mutableCacheControl,
} from '../../provision/assets/bundle.js';
import { repoRoot } from '../support/paths.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'assets-bundle-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const directory = (name: string, files: Record<string, string>) => {
  const root = path.join(scratch, name);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  return root;
};

describe('assets: what `npm run assets -- publish` puts', () => {
  it("when the web app's assets are bundled, then each file has its own name, a content-hashed name and a manifest entry, hashed first and the manifest last", () => {
    const objects = assetObjects(path.join(repoRoot, 'web', 'assets'));
    const css = readFileSync(path.join(repoRoot, 'web', 'assets', 'app.css'));
    const hash = createHash('sha256').update(css).digest('hex');
    assert.deepEqual(
      objects.map((object) => object.key),
      [`assets/app.${hash.slice(0, 12)}.css`, objects[1]?.key, 'assets/app.css', 'assets/app.js', manifestKey],
    );
    assert.match(objects[1]?.key ?? '', /^assets\/app\.[0-9a-f]{12}\.js$/);
    const plain = objects.find((object) => object.key === 'assets/app.css');
    assert.ok(plain);
    assert.equal(plain.contentType, 'text/css; charset=utf-8');
    assert.equal(plain.cacheControl, mutableCacheControl);
    assert.equal(plain.sha256, hash);
    assert.equal(objects[0]?.cacheControl, immutableCacheControl);
    assert.deepEqual(JSON.parse(objects.at(-1)?.body.toString() ?? ''), {
      'app.css': `app.${hash.slice(0, 12)}.css`,
      'app.js': objects[1]?.key.slice('assets/'.length),
    });
  });

  it('when the same files are bundled twice, then the objects are identical (a re-run has nothing to put)', () => {
    const root = directory('same', { 'a.css': 'a', 'img/logo.svg': '<svg/>' });
    assert.deepEqual(assetObjects(root), assetObjects(root));
    assert.ok(
      assetObjects(root).some(
        (object) => object.key === 'assets/img/logo.svg' && object.contentType === 'image/svg+xml',
      ),
    );
  });

  it('when the input is wrong, then the error names the file and why, before anything connects', () => {
    const link = directory('link', { 'a.css': 'a' });
    symlinkSync(path.join(link, 'a.css'), path.join(link, 'b.css'));
    const cases: [string, RegExp][] = [
      [path.join(scratch, 'missing'), /missing: no such directory/],
      [path.join(directory('file', { 'x.css': 'x' }), 'x.css'), /x\.css: not a directory/],
      [directory('empty', {}), /no files to publish/],
      [directory('spaces', { 'my file.css': 'x' }), /my file\.css: the name is not a safe URL path segment/],
      [directory('query', { 'a?.css': 'x' }), /the name is not a safe URL path segment/],
      [link, /b\.css: a symbolic link/],
    ];
    mkdirSync(path.join(scratch, 'empty'), { recursive: true });
    for (const [input, error] of cases)
      assert.throws(
        () => assetObjects(input),
        (caught: unknown) => caught instanceof AssetsError && error.test(caught.message),
        input,
      );
  });
});
