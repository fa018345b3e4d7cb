import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { imageTag, repoRoot } from './paths.js';

const run = promisify(execFile);

/** Builds compose/ec2-host (Debian + systemd + OpenSSH + sudo, like an EC2 instance). Returns its tag. */
export async function buildEc2HostImage(): Promise<string> {
  const tag = `refereezy/ec2-host:${imageTag}`;
  await run('docker', ['build', '--quiet', '--tag', tag, path.join(repoRoot, 'compose', 'ec2-host')], { maxBuffer: 64 * 1024 * 1024 });
  return tag;
}
