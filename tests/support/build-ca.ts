import { existsSync } from 'node:fs';

const systemBundle = '/etc/ssl/certs/ca-certificates.crt';

/**
 * The CA bundle handed to image builds as the `extra_ca` secret (npm behind a TLS-intercepting
 * proxy): the one Node is told to trust, else the host's system bundle, else none.
 */
export function buildCaBundle(): string {
  return process.env.NODE_EXTRA_CA_CERTS ?? (existsSync(systemBundle) ? systemBundle : '/dev/null');
}
