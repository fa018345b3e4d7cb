import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { PlanError } from '../core/errors.js';
import { isAbsolutePath } from '../validation/validators.js';
import { lines } from '../facts/fact.js';
import { treeFact } from '../facts/tree.js';
import { unifiedDiff } from './diff.js';
import type { Operation, Plan } from './operation.js';
import { change, noop } from './operation.js';

/** One file of a tree, by its path relative to the tree's root ("assets/app.css"). */
export interface TreeFile {
  path: string;
  content: Buffer;
  /** Seconds since the epoch: kept as Docker's COPY keeps it, so nginx's ETag and Last-Modified follow the source. */
  mtime: number;
}

export interface TreeDesired {
  /** The directory on the host, replaced as a whole when any file differs. */
  path: string;
  files: readonly TreeFile[];
  /** tarball(files), built before planning: what is sent when the tree differs. */
  archive: Buffer;
}

/** A directory of the repo read before planning: its files, and the archive that deploys them. */
export interface PreparedTree {
  files: readonly TreeFile[];
  /** tarball(files). */
  archive: Buffer;
}

/** Reads a directory of the repo and archives it: before planning, once per run. */
export async function prepareTree(root: URL): Promise<PreparedTree> {
  const files = readTree(root);
  return { files, archive: await tarball(files) };
}

// Names a manifest line, a tar header and a URL all carry as they are.
const plainName = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** Every regular file under a directory of the repo, in byte order of its path. */
export function readTree(root: URL): TreeFile[] {
  const base = fileURLToPath(root);
  const files = readdirSync(base, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const absolute = path.join(entry.parentPath, entry.name);
      const relative = path.relative(base, absolute).split(path.sep).join('/');
      if (!plainName.test(relative) || relative.split('/').some((part) => part.startsWith('.'))) {
        throw new PlanError(
          '',
          `${absolute}: only plain names (letters, digits, ".", "_", "-"; no hidden files) are deployed`,
        );
      }
      return { path: relative, content: readFileSync(absolute), mtime: Math.floor(statSync(absolute).mtimeMs / 1000) };
    });
  return files.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/** The tree as `find . -type f | LC_ALL=C sort | xargs sha256sum` prints it on the host. */
export function manifest(files: readonly TreeFile[]): string {
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(`./${a.path}`), Buffer.from(`./${b.path}`)));
  return sorted
    .map((entry) => `${createHash('sha256').update(entry.content).digest('hex')}  ./${entry.path}\n`)
    .join('');
}

/** The tree as a gzipped tar archive: directories 0755, files 0644, owned by root; the same files give the same bytes. */
export async function tarball(files: readonly TreeFile[]): Promise<Buffer> {
  const archive = pack();
  const owner = { uid: 0, gid: 0, uname: 'root', gname: 'root' };
  const directories = new Set<string>();
  const chunks: Buffer[] = [];
  const read = (async () => {
    for await (const chunk of archive) chunks.push(chunk as Buffer);
  })();
  for (const entry of files) {
    const mtime = new Date(entry.mtime * 1000);
    const parts = entry.path.split('/');
    for (let depth = 1; depth < parts.length; depth++) {
      const directory = parts.slice(0, depth).join('/');
      if (directories.has(directory)) continue;
      directories.add(directory);
      archive.entry({ name: `${directory}/`, type: 'directory', mode: 0o755, mtime, ...owner });
    }
    archive.entry(
      { name: entry.path, type: 'file', mode: 0o644, size: entry.content.length, mtime, ...owner },
      entry.content,
    );
  }
  archive.finalize();
  await read;
  return gzipSync(Buffer.concat(chunks));
}

/**
 * Unpacks the archive (stdin) beside the directory, then swaps it in: atomically where mv can
 * exchange (coreutils 9.5+), else with two renames. No half-copied tree is ever served.
 */
const deployScript = `set -eu
rm -rf -- "$1.new" "$1.old"
install -d -m 0755 -- "$1.new"
tar -xzf - --no-same-owner -C "$1.new"
if [ -e "$1" ] && mv --exchange -T -- "$1.new" "$1" 2>/dev/null; then
  rm -rf -- "$1.new"
else
  if [ -e "$1" ]; then mv -T -- "$1" "$1.old"; fi
  mv -T -- "$1.new" "$1"
  rm -rf -- "$1.old"
fi`;

export function planTree(desired: TreeDesired, current: string | null): Plan {
  const wanted = manifest(desired.files);
  const count = `${desired.files.length} ${desired.files.length === 1 ? 'file' : 'files'}`;
  if (current === wanted) return noop(`${desired.path} holds the ${count} (sha256 of each matches)`);
  const names = (text: string) => new Map(lines(text).map((line) => [line.slice(66), line.slice(0, 64)]));
  const before = names(current ?? '');
  const after = names(wanted);
  const added = [...after.keys()].filter((name) => !before.has(name)).length;
  const removed = [...before.keys()].filter((name) => !after.has(name)).length;
  const updated = [...after.keys()].filter((name) => before.has(name) && before.get(name) !== after.get(name)).length;
  const reason =
    current === null
      ? `create ${desired.path} with ${count}`
      : `replace ${desired.path}: ${added} new, ${updated} changed, ${removed} removed`;
  return change(
    reason,
    [{ argv: ['sh', '-c', deployScript, 'sh', desired.path], stdin: desired.archive }],
    unifiedDiff(`${desired.path} (sha256 manifest)`, current ?? '', wanted),
  );
}

/** A directory holding exactly these files (content compared by sha256), replaced as a whole when any differs. */
export function tree(desired: TreeDesired): Operation<string | null> {
  if (!isAbsolutePath(desired.path)) {
    throw new PlanError('', `"${desired.path}" is not an absolute, normalised path`);
  }
  return { fact: treeFact(desired.path), plan: (current) => planTree(desired, current) };
}
