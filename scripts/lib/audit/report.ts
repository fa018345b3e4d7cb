import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const CheckResultSchema = z.strictObject({
  /** testssl, ssh-audit bastion, sqlmap, waf-probe, lynis, … */
  check: z.string(),
  status: z.enum(['pass', 'fail', 'skip']),
  /** Why: the figure that decided, or why it could not run. */
  reason: z.string().min(1),
  /** Measured values (rates, indexes, counts) for the JSON report. */
  figures: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
  seconds: z.number(),
});
export type CheckResult = z.infer<typeof CheckResultSchema>;

export const AuditReportSchema = z.strictObject({
  startedAt: z.string(),
  target: z.string(),
  checks: z.array(CheckResultSchema),
  /** What the audit cannot do on this machine, and where it runs instead. */
  elsewhere: z.array(z.strictObject({ check: z.string(), where: z.string(), why: z.string() })),
});
export type AuditReport = z.infer<typeof AuditReportSchema>;

/** Dependency and image vulnerability scans: they need a vulnerability feed, which these machines cannot reach. */
export const scannedElsewhere: AuditReport['elsewhere'] = [
  {
    check: 'dependency vulnerabilities (npm audit: the repo, api/, monitoring/notifier/)',
    where: '.github/workflows/security.yml, on every pull request, on main and weekly',
    why: "npm audit asks the registry's advisory database: not reachable from the replica's machines",
  },
  {
    check: 'image vulnerabilities (Trivy on every image of docker-compose.yml)',
    where: '.github/workflows/security.yml, on every pull request, on main and weekly',
    why: "Trivy downloads its vulnerability database: not reachable from the replica's machines",
  },
];

/** Runs one check, timing it; a check that throws is a failure that says why, never a crash of the audit. */
export async function timed(
  check: string,
  run: () => Promise<Omit<CheckResult, 'check' | 'seconds'>>,
): Promise<CheckResult> {
  const started = performance.now();
  try {
    const result = await run();
    return CheckResultSchema.parse({ ...result, check, seconds: Math.round((performance.now() - started) / 100) / 10 });
  } catch (error) {
    return {
      check,
      status: 'fail',
      reason: `the check itself failed: ${error instanceof Error ? error.message : String(error)}`,
      figures: {},
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  }
}

export function markdown(report: AuditReport): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = report.checks.map(
    (check) => `| ${check.check} | ${check.status.toUpperCase()} | ${cell(check.reason)} | ${check.seconds} s |`,
  );
  const figures = report.checks.flatMap((check) =>
    Object.entries(check.figures).map(([name, value]) => `| ${check.check} | ${name} | ${String(value)} |`),
  );
  const passed = report.checks.filter((check) => check.status === 'pass').length;
  return [
    `# Security audit — ${report.target}`,
    '',
    `Started ${report.startedAt}. ${passed} of ${report.checks.length} checks passed; ${report.checks.filter((check) => check.status === 'fail').length} failed, ${report.checks.filter((check) => check.status === 'skip').length} skipped.`,
    '',
    '| Check | Result | Why | Time |',
    '|---|---|---|---|',
    ...rows,
    '',
    '## Figures',
    '',
    '| Check | Figure | Value |',
    '|---|---|---|',
    ...figures,
    '',
    '## Not run here',
    '',
    ...report.elsewhere.map((item) => `- **${item.check}**: runs in ${item.where}. ${item.why}.`),
    '',
  ].join('\n');
}

/** Writes report.md and report.json into `directory`; returns their paths. */
export function writeReport(report: AuditReport, directory: string): { markdown: string; json: string } {
  mkdirSync(directory, { recursive: true });
  const files = {
    markdown: path.join(directory, 'security-audit.md'),
    json: path.join(directory, 'security-audit.json'),
  };
  writeFileSync(files.markdown, markdown(AuditReportSchema.parse(report)));
  writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
  return files;
}
