import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { imageTag, repoRoot } from './paths.js';

const run = promisify(execFile);
const dir = path.join(repoRoot, 'tests', 'support', 'ssh-audit');

/** Builds tests/support/ssh-audit (Debian trixie's ssh-audit 3.3). Returns its tag. */
export async function buildSshAuditImage(): Promise<string> {
  const tag = `refereezy/ssh-audit:${imageTag}`;
  await run('docker', ['build', '--quiet', '--tag', tag, dir], { maxBuffer: 16 * 1024 * 1024 });
  return tag;
}

export interface SshAuditResult {
  code: number;
  /** Without colours. */
  output: string;
}

/**
 * ssh-audit against host:port, run in a container on `network` (a network name, or
 * `container:<name>` to audit from inside that machine: its address, its firewall's view), with
 * tests/support/ssh-audit/hardened.policy when `policy` is set. One audit per target and source:
 * OpenSSH 9.8+ penalises a source that connects without authenticating (PerSourcePenalties), as
 * ssh-audit does several times.
 */
export async function sshAudit(
  network: string,
  target: string,
  { policy = false, port = 22 } = {},
): Promise<SshAuditResult> {
  const image = await buildSshAuditImage();
  const args = [
    'run',
    '--rm',
    '--network',
    network,
    '--volume',
    `${dir}:/policy:ro`,
    image,
    ...(policy ? ['-P', '/policy/hardened.policy'] : []),
    '-p',
    String(port),
    target,
  ];
  try {
    const { stdout, stderr } = await run('docker', args, { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
    return { code: 0, output: strip(stdout + stderr) };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, output: strip((failed.stdout ?? '') + (failed.stderr ?? '')) };
  }
}

// eslint-disable-next-line no-control-regex
const strip = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');
