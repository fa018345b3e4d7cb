import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Agent, setGlobalDispatcher } from 'undici';
import { repoRoot } from './paths.js';

/** The replica's CA (scripts/local-ca), in the repo's .local/: what `npm run stack` and the tests both use. */
export const localCaFile = join(repoRoot, '.local', 'ca', 'ca.crt');

/** The CDN's TLS edge (cdn-tls): its certificate's names, as `npm run stack` issues it. */
export const cdnTlsService = 'cdn-tls DNS:cdn-tls,DNS:localhost,IP:127.0.0.1';

let trusted = false;

/** What this process trusts for the replica's HTTPS: the system's roots and the local CA. */
export function trustedCertificates(): string[] {
  return [...rootCertificates, readFileSync(localCaFile, 'utf8')];
}

/**
 * Makes sure the local CA and the CDN's certificate exist (issued, or re-issued when due), and has
 * this process's fetch trust that CA beside the system's roots: the replica's edge speaks HTTPS
 * only. Node's fetch reads undici's global dispatcher, which this replaces once.
 */
export function trustLocalCa(): string {
  execFileSync('bash', [join(repoRoot, 'scripts', 'local-ca'), '--service', cdnTlsService], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (!trusted) {
    setGlobalDispatcher(new Agent({ connect: { ca: trustedCertificates() } }));
    trusted = true;
  }
  return localCaFile;
}
