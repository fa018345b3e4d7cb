import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildCaBundle } from './build-ca.js';
import { imageTag, repoRoot } from './paths.js';

const run = promisify(execFile);

/**
 * Builds one service's image exactly as `docker compose` does (same Dockerfile, arguments and
 * secrets), so suites that start it alone test the image the replica runs. Returns its tag.
 */
export async function buildServiceImage(
  service: 'db' | 'api' | 'web' | 'bastion' | 'firebase' | 'mail' | 'prometheus' | 'notifier' | 's3',
): Promise<string> {
  // Services that share an image are built through one of them.
  const composeService = { web: 'web1', notifier: 'sms-notifier' }[service as string] ?? service;
  await run('docker', ['compose', 'build', '--quiet', composeService], {
    cwd: repoRoot,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      COMPOSE_PROJECT_NAME: 'refereezy-image-build',
      NODE_EXTRA_CA_CERTS: buildCaBundle(),
      // Required by the compose file's interpolation only; build steps never see them.
      DB_PASSWORD: 'unused-at-build-time',
      MAIL_CATCHALL_PASSWORD: 'unused-at-build-time',
      MONITOR_DB_PASSWORD: 'unused-at-build-time',
      BACKUP_CIPHER_PASS: 'unused-at-build-time',
      S3_ACCESS_KEY: 'unused-at-build-time',
      S3_SECRET_KEY: 'unused-at-build-time',
      BASTION_AUTHORIZED_KEYS: 'unused-at-build-time',
    },
  });
  return `refereezy/${service}:${imageTag}`;
}
