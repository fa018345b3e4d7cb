import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { imageTag, repoRoot } from './paths.js';

const run = promisify(execFile);

/** The Debian releases the roles support (provision/roles/common/release.ts), as base image suites. */
export type Release = 'trixie' | 'bookworm';

/**
 * Builds compose/ec2-host (Debian + systemd + OpenSSH + sudo, like an EC2 instance) on a release:
 * trixie (the default base image) or bookworm (`debian:bookworm-slim`, which scripts/base-image
 * provides: pulled, or built with mmdebstrap). Returns its tag.
 */
export async function buildEc2HostImage(release: Release = 'trixie'): Promise<string> {
  const tag = release === 'trixie' ? `refereezy/ec2-host:${imageTag}` : `refereezy/ec2-host:${imageTag}-${release}`;
  const base = release === 'trixie' ? [] : ['--build-arg', `BASE_IMAGE=debian:${release}-slim`];
  if (release !== 'trixie')
    await run('bash', [path.join(repoRoot, 'scripts', 'base-image')], {
      env: { ...process.env, BASE_IMAGE: `debian:${release}-slim` },
      maxBuffer: 16 * 1024 * 1024,
    });
  await run('docker', ['build', '--quiet', ...base, '--tag', tag, path.join(repoRoot, 'compose', 'ec2-host')], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return tag;
}
