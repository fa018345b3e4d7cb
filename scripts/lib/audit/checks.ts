// The security audit's checks. Each runs a real tool (testssl.sh, ssh-audit, sqlmap, lynis) or the
// WAF corpus against a running target, and says pass, fail or skip with the figure or cause that
// decided. The tools run in a throwaway container of tools/Dockerfile on the target's networks.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { validRequests } from '../../../tests/support/openapi-requests.js';
import { imageTag } from '../../../tests/support/paths.js';
import { sshAudit } from '../../../tests/support/ssh-audit.js';
import { attackCorpus, probeCorpus } from '../../../tests/support/waf-corpus.js';
import type { CheckResult } from './report.js';

const run = promisify(execFile);
type Outcome = Omit<CheckResult, 'check' | 'seconds'>;

const toolsDir = fileURLToPath(new URL('./tools/', import.meta.url));

/** Builds tools/Dockerfile; returns its tag. */
export async function buildToolsImage(): Promise<string> {
  const tag = `refereezy/security-tools:${imageTag}`;
  await run('docker', ['build', '--quiet', '--tag', tag, toolsDir], { maxBuffer: 16 * 1024 * 1024 });
  return tag;
}

/** A command in a tools container on `network`; never throws for its exit code. */
async function inTools(
  image: string,
  network: string,
  argv: string[],
  { env = {}, timeoutMs = 600_000, mounts = [] as string[] } = {},
): Promise<{ code: number; output: string }> {
  const args = [
    'run',
    '--rm',
    '--network',
    network,
    ...mounts.flatMap((mount) => ['--volume', mount]),
    ...Object.keys(env).flatMap((name) => ['--env', name]),
    image,
    ...argv,
  ];
  try {
    const { stdout, stderr } = await run('docker', args, {
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: timeoutMs,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as {
      code?: number | string;
      stdout?: string;
      stderr?: string;
      killed?: boolean;
      message: string;
    };
    if (failed.killed)
      return {
        code: 124,
        output: `${failed.stdout ?? ''}${failed.stderr ?? ''}\n(stopped after ${timeoutMs / 1000} s)`,
      };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, output: (failed.stdout ?? '') + (failed.stderr ?? '') };
  }
}

export interface TestsslFinding {
  id: string;
  severity: string;
  finding: string;
}

/**
 * What testssl.sh's JSON findings (ids as testssl 3.2 writes them) say against Mozilla's intermediate
 * profile: no protocol below TLS 1.2, TLS 1.2 offered, forward secrecy with AEAD ciphers only (no
 * cipher without forward secrecy, no CBC), HSTS, a chain of trust that passes, and no HIGH or
 * CRITICAL finding. A private CA (`localCa`, the replica's) publishes no CRL or OCSP responder:
 * testssl's HIGH `cert_revocation` is expected there and not counted.
 */
export function testsslVerdict(
  findings: TestsslFinding[],
  { localCa }: { localCa: boolean },
): { problems: string[]; severe: TestsslFinding[] } {
  const finding = (id: string) => findings.find((item) => item.id === id)?.finding ?? '';
  const offered = (id: string) => /offered/.test(finding(id)) && !/not offered/.test(finding(id));
  const problems: string[] = [];
  for (const old of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) if (offered(old)) problems.push(`${old} offered`);
  if (!offered('TLS1_2')) problems.push('TLS 1.2 not offered');
  if (!offered('FS')) problems.push('no forward secrecy');
  if (offered('cipherlist_STRONG_NOFS')) problems.push('ciphers without forward secrecy offered');
  if (offered('cipherlist_OBSOLETED')) problems.push('obsolete (CBC) ciphers offered');
  if (!/\d+ days/.test(finding('HSTS_time'))) problems.push(`no HSTS (${finding('HSTS_time') || 'not reported'})`);
  const trust = findings.find((item) => item.id.startsWith('cert_chain_of_trust'));
  if (!trust || !/passed/.test(trust.finding)) problems.push(`chain of trust: ${trust?.finding ?? 'not reported'}`);
  const severe = findings.filter(
    (item) => (item.severity === 'HIGH' || item.severity === 'CRITICAL') && !(localCa && item.id === 'cert_revocation'),
  );
  problems.push(...severe.map((item) => `${item.id}: ${item.finding} (${item.severity})`));
  return { problems, severe };
}

/**
 * testssl.sh against the edge's TLS (host:port on `network`), with the local CA when given; the
 * verdict is testsslVerdict's. No TLS listener at all is a failure that says so.
 */
export async function testsslCheck(
  image: string,
  network: string,
  host: string,
  port: number,
  caFile?: string,
): Promise<Outcome> {
  const listening = await inTools(
    image,
    network,
    ['timeout', '5', 'bash', '-c', 'exec 3<>"/dev/tcp/$0/$1"', host, String(port)],
    { timeoutMs: 30_000 },
  );
  if (listening.code !== 0) {
    return {
      status: 'fail',
      reason: `the edge serves no TLS: nothing listens on ${host}:${port} (the edge is plain HTTP here)`,
      figures: { tls_listener: false },
    };
  }
  const mounts = caFile ? [`${path.resolve(caFile)}:/audit/ca.pem:ro`] : [];
  // Debian's package installs testssl.sh as `testssl`.
  const script = `testssl --quiet --color 0 --warnings off --ip one --connect-timeout 10 --openssl-timeout 10 ${caFile ? '--add-ca /audit/ca.pem ' : ''}-p -f -s -h -S --jsonfile /tmp/testssl.json "$0" >/dev/null 2>&1; cat /tmp/testssl.json`;
  const result = await inTools(image, network, ['timeout', '600', 'bash', '-c', script, `${host}:${port}`], {
    mounts,
    timeoutMs: 660_000,
  });
  let findings: TestsslFinding[];
  try {
    findings = JSON.parse(result.output.slice(result.output.indexOf('['))) as TestsslFinding[];
  } catch {
    return {
      status: 'fail',
      reason: `testssl.sh gave no JSON report (exit ${result.code}): ${result.output.slice(-300)}`,
      figures: {},
    };
  }
  const { problems, severe } = testsslVerdict(findings, { localCa: caFile !== undefined });
  return {
    status: problems.length === 0 ? 'pass' : 'fail',
    reason:
      problems.length === 0
        ? `TLS 1.2+ only, forward secrecy and AEAD only, HSTS, chain valid${caFile ? ' against the local CA' : ''}; no HIGH or CRITICAL finding (${findings.length} findings${caFile ? "; revocation not asked of the replica's private CA" : ''})`
        : problems.join('; '),
    figures: { findings: findings.length, high_or_critical: severe.length },
  };
}

/** ssh-audit with tests/support/ssh-audit/hardened.policy, from `source` (a network, or container:<name>). */
export async function sshAuditCheck(source: string, target: string): Promise<Outcome> {
  const audit = await sshAudit(source, target, { policy: true });
  const passed = audit.code === 0 && /Result: ✔ Passed/.test(audit.output);
  const failures = audit.output
    .split('\n')
    .filter((line) => /Failed|[✗✖]/.test(line))
    .slice(0, 5)
    .join('; ');
  return {
    status: passed ? 'pass' : 'fail',
    reason: passed
      ? `${target} passes the hardened policy (ed25519 host key, AEAD ciphers, ETM MACs, no DH, no compression)`
      : `${target}: ${failures || audit.output.slice(-300)}`,
    figures: { exit_code: audit.code },
  };
}

/**
 * sqlmap (level 1, risk 1: no request that could change data; error, boolean and UNION techniques,
 * time-bound) on the API's query and path parameters, straight at the API so that the WAF in front
 * does not hide what the API itself would do. The token travels in the environment, never in argv.
 */
export async function sqlmapCheck(
  image: string,
  network: string,
  apiBase: string,
  token: string,
  { timeoutSeconds = 300 } = {},
): Promise<Outcome> {
  // The path parameter is tested on a match that exists (a 404 page gives sqlmap nothing to compare).
  const listing = await inTools(
    image,
    network,
    [
      'sh',
      '-c',
      'exec curl -fsS -H "Authorization: Bearer $AUDIT_TOKEN" "$0"',
      `${apiBase}/api/matches?limit=1&offset=0`,
    ],
    { env: { AUDIT_TOKEN: token }, timeoutMs: 60_000 },
  );
  const matchId = /"id":(\d+)/.exec(listing.output)?.[1];
  const targets = [
    `${apiBase}/api/referees?limit=10&offset=0`,
    `${apiBase}/api/matches?status=live&limit=10&offset=0`,
    ...(matchId === undefined ? [] : [`${apiBase}/api/matches/${matchId}*`]),
  ];
  const verdicts: string[] =
    matchId === undefined ? [`${apiBase}/api/matches/{id}: not tested (the replica has no match yet)`] : [];
  let injectable = 0;
  for (const url of targets) {
    const script =
      'exec sqlmap -u "$0" -H "Authorization: Bearer $AUDIT_TOKEN" --batch --level 1 --risk 1 --technique BEU --timeout 10 --retries 1 --threads 2 --disable-coloring --flush-session';
    const result = await inTools(image, network, ['timeout', String(timeoutSeconds), 'sh', '-c', script, url], {
      env: { AUDIT_TOKEN: token },
      timeoutMs: (timeoutSeconds + 60) * 1000,
    });
    if (/identified the following injection point|is vulnerable/.test(result.output)) {
      injectable += 1;
      verdicts.push(`${url}: INJECTABLE`);
    } else if (/do(?:es)? not (?:appear|seem) to be injectable/.test(result.output)) {
      verdicts.push(`${url}: not injectable`);
    } else {
      verdicts.push(
        `${url}: no verdict (exit ${result.code}): ${
          result.output
            .split('\n')
            .filter((line) => /CRITICAL|ERROR/.test(line))
            .slice(-2)
            .join(' ') || result.output.slice(-200)
        }`,
      );
    }
  }
  const clean = verdicts.every((verdict) => /not (?:injectable|tested)/.test(verdict));
  return {
    status: clean && injectable === 0 ? 'pass' : 'fail',
    reason: verdicts.join('; '),
    figures: { urls: targets.length, injectable },
  };
}

/** The WAF corpus through the public edge: ≥ 95 % of the attacks blocked, none of the valid OpenAPI requests. */
export async function wafProbeCheck(
  edgeUrl: string,
  attackerToken: string,
  userToken: string,
  { insecure = false, minimumRate = 0.95 } = {},
): Promise<Outcome> {
  const attacks = await probeCorpus(edgeUrl, attackCorpus(attackerToken), { insecure });
  const valid = await probeCorpus(edgeUrl, validRequests(userToken, { perOperation: 3 }), { insecure });
  const rate = Math.round(attacks.rate * 1000) / 10;
  const passed = attacks.rate >= minimumRate && valid.blocked === 0;
  return {
    status: passed ? 'pass' : 'fail',
    reason: `${attacks.blocked} of ${attacks.total} attacks blocked (${rate} %, at least ${minimumRate * 100} % required; ${attacks.refusedByNginx} by nginx before the WAF); ${valid.blocked} of ${valid.total} valid OpenAPI requests blocked (0 allowed)${attacks.missed.length ? `; missed: ${attacks.missed.slice(0, 3).join(', ')}` : ''}`,
    figures: {
      attacks: attacks.total,
      attacks_blocked: attacks.blocked,
      block_rate_percent: rate,
      valid_requests: valid.total,
      false_positives: valid.blocked,
      ...Object.fromEntries(
        Object.entries(attacks.byCategory).map(([category, tally]) => [
          `blocked_${category}`,
          `${tally.blocked}/${tally.total}`,
        ]),
      ),
    },
  };
}

export interface LynisHost {
  /** The host's container (docker cp puts lynis on it). */
  containerName: string;
  /** A command on the host as root. */
  exec(argv: string[]): Promise<{ exitCode: number; output: string }>;
}

/**
 * lynis on a provisioned host: copied there from the tools image (nothing installed by apt on the
 * audited host), run as root, its hardening index read from its report. Passes at `minimumIndex`.
 */
/** Where lynis runs on the audited host: not /tmp, which systemd mounts as a tmpfs that hides what `docker cp` puts there. */
const lynisDir = '/var/tmp/lynis-audit';

export async function lynisCheck(image: string, host: LynisHost, { minimumIndex = 60 } = {}): Promise<Outcome> {
  const local = mkdtempSync(path.join(tmpdir(), 'lynis-'));
  const { stdout: created } = await run('docker', ['create', image]);
  const id = created.trim();
  try {
    await run('docker', ['cp', `${id}:/usr/share/lynis`, path.join(local, 'lynis')]);
    await run('docker', ['cp', `${id}:/usr/sbin/lynis`, path.join(local, 'lynis', 'lynis')]);
    await run('docker', ['cp', `${id}:/etc/lynis/default.prf`, path.join(local, 'lynis', 'default.prf')]);
    // Debian keeps lynis' plugins in /etc; it refuses to run without a plugin directory.
    await run('docker', ['cp', `${id}:/etc/lynis/plugins`, path.join(local, 'lynis', 'plugins')]);
    await host.exec(['rm', '-rf', lynisDir]);
    await run('docker', ['cp', path.join(local, 'lynis'), `${host.containerName}:${lynisDir}`]);
    await host.exec(['chown', '-R', 'root:root', lynisDir]);
    const audit = await host.exec([
      'sh',
      '-c',
      `cd ${lynisDir} && timeout 600 sh ./lynis audit system --quick --no-colors --profile ./default.prf --logfile ${lynisDir}/lynis.log --report-file ${lynisDir}/report.dat >${lynisDir}/out.txt 2>&1; grep -E "^(hardening_index|warning\\[\\])=" ${lynisDir}/report.dat || tail -3 ${lynisDir}/out.txt`,
    ]);
    const index = Number(/^hardening_index=(\d+)/m.exec(audit.output)?.[1]);
    const warnings = [...audit.output.matchAll(/^warning\[\]=([^|]*)\|([^|]*)/gm)].map(
      (match) => `${match[1]}: ${match[2]}`,
    );
    if (!Number.isFinite(index))
      return { status: 'fail', reason: `lynis gave no hardening index: ${audit.output.slice(-300)}`, figures: {} };
    return {
      status: index >= minimumIndex ? 'pass' : 'fail',
      reason: `hardening index ${index} (at least ${minimumIndex} required); ${warnings.length} warnings${warnings.length ? `: ${warnings.slice(0, 5).join('; ')}` : ''}`,
      figures: { hardening_index: index, warnings: warnings.length },
    };
  } finally {
    await run('docker', ['rm', '-f', id]).catch(() => undefined);
    rmSync(local, { recursive: true, force: true });
  }
}
