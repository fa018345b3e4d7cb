// The replica's S3 (Amazon S3 in production): s3rver storing objects as files on the s3_data volume,
// so a restart loses nothing, listening on loopback only; HAProxy (a child process) terminates TLS
// on :443 with a certificate from the store's own CA, because pgBackRest speaks S3 over TLS only.
// When either stops, the other is stopped and the container exits (its restart policy applies).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { posix } from 'node:path';

const require = createRequire(import.meta.url);

// s3rver 3.7.1 lists a bucket by walking the directories that hold its keys, pruning the walk by
// comparing paths, and pages through the result in walk order. Two consequences broke pgBackRest
// here: a prefix whose objects all sit two or more levels down (archive/<stanza>/17-1/ holds only
// 0000000100000000/…) was never reported, so verify and expire saw no WAL; and pages of more than
// 1000 keys came out of key order, so a continuation skipped keys (expire left files of expired
// backups behind). This listing walks the prefix's directory, sorts the keys, then applies
// start-after, the delimiter and max-keys as S3 does.
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Object = require('s3rver/lib/models/object');
const objectSuffix = '._S3rver_object';
function* objectPaths(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch (error) {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return;
    throw error;
  }
  for (const name of names) {
    const entry = posix.join(dir, name);
    if (statSync(entry).isDirectory()) yield* objectPaths(entry);
    else if (name.endsWith(objectSuffix)) yield entry;
  }
}
FilesystemStore.prototype.listObjects = async function listObjects(bucket, options) {
  const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options;
  const bucketPath = this.getBucketPath(bucket);
  const prefixDir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
  const keys = [...objectPaths(posix.join(bucketPath, prefixDir))]
    .map((entry) => entry.slice(bucketPath.length + 1, -objectSuffix.length))
    .filter((key) => key.startsWith(prefix) && key > startAfter)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const commonPrefixes = new Set();
  const selected = [];
  let isTruncated = false;
  for (const key of keys) {
    const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (at !== -1) {
      commonPrefixes.add(key.slice(0, at + delimiter.length));
      continue;
    }
    if (selected.length >= maxKeys) {
      isTruncated = true;
      break;
    }
    selected.push(key);
  }
  const objects = [];
  for (const key of selected) {
    const metadata = await this.getMetadata(bucket, key).catch((error) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (metadata !== undefined) objects.push(new S3Object(bucket, key, null, metadata));
  }
  return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
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
const buckets = env('S3_BUCKETS')
  .split(/[\s,]+/)
  .filter(Boolean);
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
