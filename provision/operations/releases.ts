import { PlanError } from '../core/errors.js';
import { isAbsolutePath } from '../validation/validators.js';
import type { PathFact } from '../facts/files.js';
import { pathFact } from '../facts/files.js';
import { linkFact, releasesFact, type ReleasesFact } from '../facts/releases.js';
import type { Operation, Plan } from './operation.js';
import { change, noop, run } from './operation.js';
import type { NodeRelease } from '../releases/node-release.js';

/**
 * Releases side by side, Capistrano/Kamal-style: <root>/releases/<id> (never changed once there),
 * <root>/current → releases/<id> (switched atomically), the oldest removed beyond a few.
 */

export const releaseId = /^[0-9a-f]{16}$/;

function requireRoot(root: string): void {
  if (!isAbsolutePath(root)) throw new PlanError('', `"${root}" is not an absolute, normalised path`);
}

// $1 the releases directory, $2 the release id, $3 its sha256; the tar.gz on stdin. Unpacked
// beside, checked, then renamed: a release directory is complete or absent.
const uploadScript = `set -eu
cd -- "$1"
partial=".$2.partial"
rm -rf -- "$partial" "$partial.tar.gz"
cat >"$partial.tar.gz"
if ! echo "$3  $partial.tar.gz" | sha256sum --check --status; then
  rm -f -- "$partial.tar.gz"
  echo "release $2 arrived corrupted (sha256 differs)" >&2
  exit 1
fi
mkdir -- "$partial"
tar -xzf "$partial.tar.gz" -C "$partial" --no-same-owner
rm -f -- "$partial.tar.gz"
touch -- "$partial"
mv -T -- "$partial" "$2"`;

export function planUpload(
  root: string,
  release: Pick<NodeRelease, 'id' | 'sha256'> & { bytes: number; tarball?: Buffer },
  current: PathFact | null,
): Plan {
  const dir = `${root}/releases/${release.id}`;
  if (current !== null) {
    if (current.type !== 'directory') throw new PlanError('', `${dir} is a ${current.type}, not a release directory`);
    return noop(`release ${release.id} is on the host`);
  }
  return change(`upload release ${release.id} (${(release.bytes / 1024 / 1024).toFixed(1)} MiB) into ${dir}`, [
    {
      argv: ['sh', '-c', uploadScript, 'sh', `${root}/releases`, release.id, release.sha256],
      ...(release.tarball ? { stdin: release.tarball } : {}),
    },
  ]);
}

/** The release unpacked into <root>/releases/<id>, uploaded only when it is not there yet. */
export function uploadedRelease(root: string, release: NodeRelease): Operation<PathFact | null> {
  requireRoot(root);
  if (!releaseId.test(release.id)) throw new PlanError('', `"${release.id}" is not a release id`);
  return {
    fact: pathFact(`${root}/releases/${release.id}`),
    plan: (current) => planUpload(root, { ...release, bytes: release.tarball.length }, current),
  };
}

// $1 the root, $2 the link's new target: a new link renamed over the old one (atomic).
const switchScript = `set -eu
cd -- "$1"
ln -sfnT -- "$2" .current.new
mv -T -- .current.new current`;

export function planCurrent(root: string, id: string, target: string | null): Plan {
  const desired = `releases/${id}`;
  if (target === desired) return noop(`${root}/current is release ${id}`);
  return change(
    `switch ${root}/current to release ${id}${target === null ? '' : ` (was ${target.replace(/^releases\//, '')})`}`,
    [run('sh', '-c', switchScript, 'sh', root, desired)],
  );
}

/** <root>/current pointing at the release. */
export function currentRelease(root: string, id: string): Operation<string | null> {
  requireRoot(root);
  if (!releaseId.test(id)) throw new PlanError('', `"${id}" is not a release id`);
  return { fact: linkFact(`${root}/current`), plan: (target) => planCurrent(root, id, target) };
}

export function planPrune(root: string, keep: number, desiredId: string, current: ReleasesFact): Plan {
  const kept = new Set([
    desiredId,
    current.current?.replace(/^releases\//, '') ?? '',
    ...current.releases.filter((name) => releaseId.test(name)).slice(0, keep),
  ]);
  // Anything else: older releases, and what an interrupted upload left (.<id>.partial).
  const remove = current.releases.filter((name) => !kept.has(name));
  if (remove.length === 0)
    return noop(`${current.releases.length} release(s) kept (at most ${keep}, the current one always)`);
  return change(`remove ${remove.length} old release(s): ${remove.join(', ')}`, [
    run('rm', '-rf', '--', ...remove.map((name) => `${root}/releases/${name}`)),
  ]);
}

/** At most `keep` releases (the newest, plus the current and the desired one). */
export function prunedReleases(root: string, keep: number, desiredId: string): Operation<ReleasesFact> {
  requireRoot(root);
  return { fact: releasesFact(root), plan: (current) => planPrune(root, keep, desiredId, current) };
}
