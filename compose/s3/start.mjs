// The replica's S3 (Amazon S3 in production): s3rver storing objects as files on the s3_data volume,
// so a restart loses nothing, listening on loopback only; HAProxy (a child process) terminates TLS
// on :443 with a certificate from the store's own CA, because pgBackRest speaks S3 over TLS only.
// When either stops, the other is stopped and the container exits (its restart policy applies).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { posix } from 'node:path';

const require = createRequire(import.meta.url);

// s3rver 3.7.1 lists a delimited prefix by walking the directories that hold its keys, and does not
// descend below a common prefix; a prefix whose objects all sit two or more levels down (pgBackRest's
// archive/<stanza>/17-1/ holds only 0000000100000000/…) was never reported, so pgBackRest's verify
// and expire saw no WAL archive at all. The walk now reports the first object under such a
// directory (listObjects turns it into the common prefix, or drops it when outside the listing),
// and goes through names in order, as S3 lists keys. Patched before s3rver loads the walk.
const utils = require('s3rver/lib/utils');
const sortedEntries = (dir) => readdirSync(dir).sort();
function* firstObject(dir) {
  for (const name of sortedEntries(dir)) {
    const entry = posix.join(dir, name);
    if (statSync(entry).isDirectory()) {
      const found = firstObject(entry).next();
      if (!found.done) {
        yield found.value;
        return;
      }
    } else if (name.endsWith('._S3rver_object')) {
      yield entry;
      return;
    }
  }
}
utils.walk = function* walk(dir, recurseFilter) {
  for (const name of sortedEntries(dir)) {
    const entry = posix.join(dir, name);
    if (!statSync(entry).isDirectory()) yield entry;
    else if (!recurseFilter || recurseFilter(entry)) yield* walk(entry, recurseFilter);
    else yield* firstObject(entry);
  }
};

const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`s3: ${name} is not set`);
    process.exit(2);
  }
  return value;
};
const accessKey = env('S3_ACCESS_KEY');
const secretKey = env('S3_SECRET_KEY');
const buckets = env('S3_BUCKETS').split(/[\s,]+/).filter(Boolean);
const directory = process.env.S3_DIRECTORY || '/var/lib/s3/data';

// s3rver accepts one built-in key pair (S3RVER/S3RVER); only the configured one is valid here.
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey);

const server = new S3rver({
  address: '127.0.0.1',
  port: 4568,
  directory,
  silent: process.env.S3_LOG !== 'debug',
  // Path-style URLs only (https://s3/bucket/key): the one style a single TLS name serves.
  vhostBuckets: false,
  // Existing buckets keep their objects: configureBuckets only creates those that are missing.
  configureBuckets: buckets.map((name) => ({ name })),
});
await server.run();
console.log(`s3: s3rver on 127.0.0.1:4568 (data in ${directory}), buckets: ${buckets.join(', ')}`);

const haproxy = spawn('haproxy', ['-W', '-db', '-f', '/etc/haproxy/haproxy.cfg'], { stdio: 'inherit' });
let stopping = false;
haproxy.on('exit', (code, signal) => {
  if (!stopping) console.error(`s3: haproxy exited (${signal ?? `code ${code}`}); stopping`);
  void server.close().finally(() => process.exit(stopping ? 0 : 1));
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    haproxy.kill('SIGUSR1');
    setTimeout(() => haproxy.kill('SIGKILL'), 5_000).unref();
  });
}
