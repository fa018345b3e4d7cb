// The pipeline that tests and deploys firestore.rules (.github/workflows/firestore-rules.yml), read
// as data: the rules suite itself needs the official emulator and runs only there.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from '../support/paths.js';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string | number>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string;
  if?: string;
  environment?: string;
  steps: Step[];
}
const workflow = parse(readFileSync(join(repoRoot, '.github/workflows/firestore-rules.yml'), 'utf8')) as {
  jobs: Record<string, Job>;
};
const firebaseJson = JSON.parse(readFileSync(join(repoRoot, 'firebase.json'), 'utf8')) as {
  firestore: { rules: string };
};

describe('the firestore.rules pipeline', () => {
  it('when a change is pushed, then the rules suite runs on the official emulator with Java 21, and may not skip', () => {
    const test = workflow.jobs['test'];
    assert.ok(test);
    assert.equal(test.steps.find((step) => step.uses?.startsWith('actions/setup-java@'))?.with?.['java-version'], '21');
    const run = test.steps.find((step) => step.run?.includes('emulators:exec'));
    assert.ok(run, 'a step runs the suite under firebase emulators:exec');
    assert.match(run.run ?? '', /--only firestore/);
    assert.match(run.run ?? '', /tests\/integration\/firestore-rules\.test\.ts/);
    assert.ok(existsSync(join(repoRoot, 'tests/integration/firestore-rules.test.ts')));
    assert.equal(run.env?.['FIRESTORE_RULES_REQUIRED'], '1');
  });

  it('when main changes, then the tested rules are deployed with firebase-tools, credentials by secret name only', () => {
    const deploy = workflow.jobs['deploy'];
    assert.ok(deploy);
    assert.equal(deploy.needs, 'test');
    assert.match(deploy.if ?? '', /refs\/heads\/main/);
    assert.equal(deploy.environment, 'production');
    const text = JSON.stringify(deploy);
    assert.match(text, /deploy --only firestore:rules/);
    assert.match(text, /secrets\.FIREBASE_DEPLOY_WORKLOAD_IDENTITY_PROVIDER/);
    assert.doesNotMatch(text, /"(private_key|credentials_json)"/, 'no key in the workflow');
    assert.equal(firebaseJson.firestore.rules, 'firestore.rules');
  });

  it('when the rules are read, then no client write is allowed anywhere', () => {
    const rules = readFileSync(join(repoRoot, 'firestore.rules'), 'utf8').replace(/\/\/.*$/gm, '');
    const writes = [...rules.matchAll(/allow\s+([a-z, ]+):\s*if\s+([^;]+);/g)].filter(([, ops]) =>
      /write|create|update|delete/.test(ops ?? ''),
    );
    assert.ok(writes.length >= 3);
    assert.deepEqual(
      writes.filter(([, , condition]) => condition?.trim() !== 'false').map(([rule]) => rule),
      [],
    );
  });
});
