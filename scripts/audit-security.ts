// npm run audit:security [-- --lab] [--only testssl,sqlmap,…] [--out DIR] [--tls-port 443] [--tls-ca FILE]
//
// Audits the running replica (`npm run stack`; its project and the CDN's HTTPS port from .env): testssl.sh on the
// edge's TLS, ssh-audit of the bastion, sqlmap on the API's parameters (with a token from the Auth
// emulator), the WAF probe (tests/fixtures/waf through the CDN); with --lab, also a provisioning lab
// (a web host converged with the common and web roles): lynis's hardening index and ssh-audit of
// its hosts. Writes DIR/security-audit.{md,json} (default .local/audit) and exits 1 when a check
// fails. Dependency and image vulnerability scans run in .github/workflows/security.yml (the report
// says why).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, parseEnv, promisify } from 'node:util';
import { repoRoot } from '../tests/support/paths.js';
import { trustLocalCa } from '../tests/support/local-ca.js';
import { checkNames, runAudit, type AuditTarget, type CheckName } from './lib/audit/audit.js';
import { markdown, writeReport } from './lib/audit/report.js';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    lab: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: path.join(repoRoot, '.local/audit') },
    'tls-port': { type: 'string', default: '443' },
    'tls-ca': { type: 'string' },
  },
});

const only = values.only?.split(',').map((name) => name.trim()) as CheckName[] | undefined;
const unknown = only?.filter((name) => !(checkNames as readonly string[]).includes(name)) ?? [];
if (unknown.length > 0) {
  console.error(`audit:security: unknown check(s) ${unknown.join(', ')}; the checks are: ${checkNames.join(', ')}`);
  process.exit(2);
}

const envFile = path.join(repoRoot, '.env');
const env: Record<string, string> = existsSync(envFile)
  ? (parseEnv(readFileSync(envFile, 'utf8')) as Record<string, string>)
  : {};
const project = process.env.COMPOSE_PROJECT_NAME ?? env.COMPOSE_PROJECT_NAME ?? 'refereezy';
const cdnTlsPort = process.env.CDN_TLS_PORT ?? env.CDN_TLS_PORT ?? '8443';

/** An ID token from the replica's Auth emulator (its id-token.mjs), as the runbooks get one. */
async function idToken(email: string, role: 'admin' | 'referee'): Promise<string> {
  try {
    const { stdout } = await run(
      'docker',
      [
        'compose',
        '--project-name',
        project,
        'exec',
        '-T',
        'firebase',
        'node',
        'id-token.mjs',
        '--email',
        email,
        '--role',
        role,
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, ...env },
      },
    );
    return (JSON.parse(stdout) as { idToken: string }).idToken;
  } catch (error) {
    throw new Error(
      `audit:security: no token from the replica ${project}'s firebase service (is \`npm run stack\` running?): ${(error as Error).message}`,
      { cause: error },
    );
  }
}

const stamp = Date.now();
const target: AuditTarget = {
  label: `replica ${project}`,
  composeProject: project,
  edgeUrl: `https://localhost:${cdnTlsPort}`,
  tls: { host: 'cdn-tls', port: Number(values['tls-port']), caFile: values['tls-ca'] ?? trustLocalCa() },
  tokens: {
    attacker: await idToken(`audit-attacker-${stamp}@refereezy.local`, 'referee'),
    user: await idToken(`audit-user-${stamp}@refereezy.local`, 'admin'),
    sqlmap: await idToken(`audit-sqlmap-${stamp}@refereezy.local`, 'admin'),
  },
  ...(only ? { only } : {}),
};

let stopLab: (() => Promise<void>) | undefined;
if (values.lab) {
  // A lab of its own (the integration tests' provisioning lab): the bastion and a web host, converged
  // with the common and web roles as production's would be.
  const { startProvisionLab } = await import('../tests/support/provision-lab.js');
  console.error('audit:security: starting a provisioning lab (bastion, web1) and converging common,web…');
  const lab = await startProvisionLab({
    hosts: { web1: { groups: ['web'] } },
    groups: { web: { api_host: 'apt-proxy', api_port: 3142, dns_resolver: '127.0.0.11' } },
  });
  stopLab = () => lab.stop();
  const converged = await lab.provision(['--tags', 'common,web']);
  if (converged.code !== 0) throw new Error(`audit:security: the lab did not converge:\n${converged.stderr}`);
  target.lab = {
    lynis: { containerName: lab.containerName('web1'), exec: (argv) => lab.exec('web1', argv) },
    ssh: [{ source: `container:${lab.containerName('bastion')}`, target: lab.address('web1'), label: 'web1 (lab)' }],
  };
}

try {
  const report = await runAudit(target);
  const files = writeReport(report, values.out);
  console.log(markdown(report));
  console.error(`audit:security: wrote ${files.markdown} and ${files.json}`);
  process.exitCode = report.checks.some((check) => check.status === 'fail') ? 1 : 0;
} finally {
  await stopLab?.();
}
