// The provisioning code's imports run one way: no module (type imports included) imports itself back,
// however far round. madge reads the imports as the TypeScript compiler resolves them.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import madge from 'madge';
import { repoRoot } from '../../support/paths.js';

describe('provision/ imports', () => {
  it('when every module of provision/ is read, then no import cycle is found', async () => {
    const graph = await madge(path.join(repoRoot, 'provision'), {
      baseDir: repoRoot,
      fileExtensions: ['ts'],
      tsConfig: path.join(repoRoot, 'tsconfig.json'),
      // `import type` counts: a type cycle is the same tangle of modules.
      detectiveOptions: { ts: { skipTypeImports: false }, es6: { skipTypeImports: false } },
    });
    const modules = Object.keys(graph.obj());
    // The graph must be whole: a resolver that missed every `.js` → `.ts` import would find no cycle either.
    assert.ok(modules.length > 60, `madge read only ${modules.length} modules`);
    assert.ok(
      (graph.obj()['provision/main.ts'] ?? []).length > 5,
      `provision/main.ts's imports were not resolved: ${JSON.stringify(graph.obj()['provision/main.ts'])}`,
    );
    assert.deepEqual(
      graph.circular().map((cycle) => cycle.join(' → ')),
      [],
    );
  });
});
