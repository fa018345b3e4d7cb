// `npm run audit:security`'s body: every check against one running replica (and, when given, a
// provisioned lab host), collected into one report.
import {
  buildToolsImage,
  lynisCheck,
  sqlmapCheck,
  sshAuditCheck,
  testsslCheck,
  wafProbeCheck,
  type LynisHost,
} from './checks.js';
import { scannedElsewhere, timed, type AuditReport, type CheckResult } from './report.js';

export const checkNames = ['testssl', 'ssh-audit bastion', 'ssh-audit hosts', 'sqlmap', 'waf-probe', 'lynis'] as const;
export type CheckName = (typeof checkNames)[number];

export interface AuditTarget {
  /** For the report's title: "replica refereezy", "lab". */
  label: string;
  /** The replica's compose project: its networks are <project>_public and <project>_app. */
  composeProject: string;
  /** The public edge as users reach it (the CDN), for the WAF probe. */
  edgeUrl: string;
  /** The edge's TLS endpoint on the public network (host, port), and the local CA's root (PEM) to validate it. */
  tls: { host: string; port: number; caFile?: string };
  /** ID tokens: the WAF probe's attacker and valid user, sqlmap's caller (different users: each has its own write limit). */
  tokens: { attacker: string; user: string; sqlmap: string };
  /** A provisioned lab: lynis on one host, ssh-audit of its hosts (from inside its bastion). */
  lab?: { lynis: LynisHost; ssh: { source: string; target: string; label: string }[] };
  /** Only these checks (a fast subset); the others are reported as skipped, saying so. */
  only?: readonly CheckName[];
  sqlmapTimeoutSeconds?: number;
  lynisMinimumIndex?: number;
}

export async function runAudit(target: AuditTarget): Promise<AuditReport> {
  const startedAt = new Date().toISOString();
  const image = await buildToolsImage();
  const wanted = (name: CheckName) => target.only === undefined || target.only.includes(name);
  const skip = (check: CheckName, reason: string): CheckResult => ({
    check,
    status: 'skip',
    reason,
    figures: {},
    seconds: 0,
  });
  const notAsked = (check: CheckName) => skip(check, `not in this run's subset (${target.only?.join(', ') ?? ''})`);
  const noLab = (check: CheckName) =>
    skip(check, 'no provisioned lab host was given (npm run audit:security -- --lab provisions one)');
  const checks: CheckResult[] = [];
  const { composeProject: project } = target;

  checks.push(
    wanted('testssl')
      ? await timed('testssl', () =>
          testsslCheck(image, `${project}_public`, target.tls.host, target.tls.port, target.tls.caFile),
        )
      : notAsked('testssl'),
  );
  // The bastion audits itself on loopback: OpenSSH 9.8+ penalises a source that connects without
  // authenticating, as ssh-audit does several times; the operators' address must not be that source.
  checks.push(
    wanted('ssh-audit bastion')
      ? await timed('ssh-audit bastion', () => sshAuditCheck(`container:${project}-bastion-1`, '127.0.0.1'))
      : notAsked('ssh-audit bastion'),
  );
  if (!wanted('ssh-audit hosts')) checks.push(notAsked('ssh-audit hosts'));
  else if (!target.lab) checks.push(noLab('ssh-audit hosts'));
  else
    for (const host of target.lab.ssh)
      checks.push(await timed(`ssh-audit ${host.label}`, () => sshAuditCheck(host.source, host.target)));
  checks.push(
    wanted('sqlmap')
      ? await timed('sqlmap', () =>
          sqlmapCheck(image, `${project}_app`, 'http://api:3000', target.tokens.sqlmap, {
            timeoutSeconds: target.sqlmapTimeoutSeconds ?? 300,
          }),
        )
      : notAsked('sqlmap'),
  );
  checks.push(
    wanted('waf-probe')
      ? await timed('waf-probe', () =>
          wafProbeCheck(target.edgeUrl, target.tokens.attacker, target.tokens.user, { insecure: false }),
        )
      : notAsked('waf-probe'),
  );
  const lab = target.lab;
  if (!wanted('lynis')) checks.push(notAsked('lynis'));
  else if (!lab) checks.push(noLab('lynis'));
  else
    checks.push(
      await timed('lynis', () => lynisCheck(image, lab.lynis, { minimumIndex: target.lynisMinimumIndex ?? 60 })),
    );

  return { startedAt, target: target.label, checks, elsewhere: scannedElsewhere };
}
