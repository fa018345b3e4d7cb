import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import mime from 'mime-types';

/** Thrown when the files to publish are not fit: nothing has been uploaded. */
export class AssetsError extends Error {}

/** One object the bucket should hold. */
export interface AssetObject {
  key: string;
  body: Buffer;
  contentType: string;
  cacheControl: string;
  /** Hex SHA-256 of the body, kept as the object's metadata: how a re-run knows it is already there. */
  sha256: string;
}

/** Every key is under this prefix: CloudFront (and the replica's CDN) send /assets/* to the bucket as they are. */
export const assetsPrefix = 'assets/';
export const manifestKey = `${assetsPrefix}manifest.json`;
/** Content-addressed names never change content: cached for a year, never revalidated. */
export const immutableCacheControl = 'public, max-age=31536000, immutable';
/** The names the page references today (/assets/app.css) and the manifest change with each release. */
export const mutableCacheControl = 'public, max-age=300';

const safeName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** app.css + its hash → app.3f2a9c1b04de.css (12 hex digits: collisions are not a practical concern for a few hundred files). */
export function hashedName(relative: string, sha256: string): string {
  const extension = path.posix.extname(relative);
  return `${relative.slice(0, relative.length - extension.length)}.${sha256.slice(0, 12)}${extension}`;
}

function filesUnder(root: string, relative = ''): string[] {
  const directory = path.join(root, relative);
  return readdirSync(directory)
    .sort()
    .flatMap((name) => {
      const child = relative === '' ? name : `${relative}/${name}`;
      if (!safeName.test(name))
        throw new AssetsError(
          `${path.join(root, child)}: the name is not a safe URL path segment (letters, digits, . _ -): rename it`,
        );
      const stat = lstatSync(path.join(root, child));
      if (stat.isSymbolicLink())
        throw new AssetsError(`${path.join(root, child)}: a symbolic link; publish the file itself`);
      if (stat.isDirectory()) return filesUnder(root, child);
      if (!stat.isFile()) throw new AssetsError(`${path.join(root, child)}: not a regular file`);
      return [child];
    });
}

/**
 * The objects for the files under `directory` (the web app's web/assets): each file under its own
 * name (what index.html references, short-lived in caches) and under a content-hashed name
 * (immutable), and the manifest mapping one to the other, for pages that reference hashed names.
 */
export function assetObjects(directory: string): AssetObject[] {
  let stat;
  try {
    stat = lstatSync(directory);
  } catch {
    throw new AssetsError(`${directory}: no such directory (the web app's assets are in web/assets)`);
  }
  if (!stat.isDirectory()) throw new AssetsError(`${directory}: not a directory`);
  const files = filesUnder(directory);
  if (files.length === 0) throw new AssetsError(`${directory}: no files to publish`);
  const manifest: Record<string, string> = {};
  const hashed: AssetObject[] = [];
  const plain: AssetObject[] = [];
  for (const relative of files) {
    const body = readFileSync(path.join(directory, relative));
    const sha256 = createHash('sha256').update(body).digest('hex');
    const contentType = mime.contentType(path.basename(relative)) || 'application/octet-stream';
    const name = hashedName(relative, sha256);
    manifest[relative] = name;
    hashed.push({ key: `${assetsPrefix}${name}`, body, contentType, cacheControl: immutableCacheControl, sha256 });
    plain.push({ key: `${assetsPrefix}${relative}`, body, contentType, cacheControl: mutableCacheControl, sha256 });
  }
  const manifestBody = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  // In this order: a reader never finds a name (or a manifest entry) whose object is not there yet.
  return [
    ...hashed,
    ...plain,
    {
      key: manifestKey,
      body: manifestBody,
      contentType: 'application/json',
      cacheControl: mutableCacheControl,
      sha256: createHash('sha256').update(manifestBody).digest('hex'),
    },
  ];
}
