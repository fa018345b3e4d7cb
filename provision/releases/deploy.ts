import type { Task } from '../core/task.js';
import { directory } from '../operations/files.js';
import { currentRelease, prunedReleases, uploadedRelease } from '../operations/releases.js';
import type { NodeRelease } from './node-release.js';

export interface DeployedRelease {
  /** Where the releases live: <root>/releases/<id>, <root>/current. */
  root: string;
  release: NodeRelease;
  /** How the upload task names the package: "the API". */
  what: string;
  /** Releases kept on a host (the current one always): room to roll back. */
  keep: number;
  /** Handlers notified when the release the service runs changes. */
  notify: string[];
}

/** The tasks that put a release in place: its directory, the upload, `current`, and the pruning of old ones. */
export function releaseTasks({ root, release, what, keep, notify }: DeployedRelease): Task[] {
  return [
    { name: `Create ${root}/releases`, operation: directory({ path: `${root}/releases` }) },
    { name: `Upload release ${release.id} of ${what}`, operation: uploadedRelease(root, release), notify },
    { name: `Point ${root}/current at release ${release.id}`, operation: currentRelease(root, release.id), notify },
    { name: `Keep at most ${keep} releases`, operation: prunedReleases(root, keep, release.id) },
  ];
}
