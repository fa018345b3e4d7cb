import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Host } from '../inventories/schema.js';
import { prepareTree, type PreparedTree } from '../operations/tree.js';
import { nodeRelease, type NodePackage, type NodeRelease } from '../releases/node-release.js';

/** A release a role deploys: its package, from the file the inventory names or built from the repo. */
export interface ReleaseNeed {
  pkg: NodePackage;
  file?: string | undefined;
}

/** What a role's tasks read beyond the host's facts, named so it is read before planning. */
export interface InputNeeds {
  /** Files of the repo, read as text (configs, templates, units, scripts). */
  files?: readonly URL[];
  /** Directories of the repo deployed as a whole (the web app), with their archive. */
  trees?: readonly URL[];
  releases?: readonly ReleaseNeed[];
}

const releaseKey = (need: ReleaseNeed) => (need.file === undefined ? `package:${need.pkg.name}` : `file:${need.file}`);
const shown = (source: URL) => (source.protocol === 'file:' ? fileURLToPath(source) : source.href);

/**
 * Everything planning reads, read once before it (facts in, plan out): the roles' tasks look their
 * files, trees and releases up here and never touch the disk or build anything themselves.
 */
export class PlanInputs {
  private constructor(
    private readonly files: ReadonlyMap<string, string>,
    private readonly trees: ReadonlyMap<string, PreparedTree>,
    private readonly releases: ReadonlyMap<string, NodeRelease>,
  ) {}

  /** Reads (and builds) what the needs name; the same source named twice is read once. */
  static async prepare(needs: Iterable<InputNeeds>): Promise<PlanInputs> {
    const files = new Map<string, string>();
    const trees = new Map<string, Promise<PreparedTree>>();
    const releases = new Map<string, NodeRelease>();
    for (const need of needs) {
      for (const source of need.files ?? [])
        if (!files.has(source.href)) files.set(source.href, readFileSync(source, 'utf8'));
      for (const source of need.trees ?? []) if (!trees.has(source.href)) trees.set(source.href, prepareTree(source));
      for (const release of need.releases ?? []) {
        const key = releaseKey(release);
        if (!releases.has(key)) releases.set(key, nodeRelease(release.pkg, release.file));
      }
    }
    const prepared = new Map<string, PreparedTree>();
    for (const [href, tree] of trees) prepared.set(href, await tree);
    return new PlanInputs(files, prepared, releases);
  }

  text(source: URL): string {
    return this.files.get(source.href) ?? notPrepared(`${shown(source)} was not read`);
  }

  tree(source: URL): PreparedTree {
    return this.trees.get(source.href) ?? notPrepared(`${shown(source)} was not read`);
  }

  release(need: ReleaseNeed): NodeRelease {
    return (
      this.releases.get(releaseKey(need)) ??
      notPrepared(`the ${need.pkg.title} release (${need.file ?? 'built from the repo'}) was not prepared`)
    );
  }
}

function notPrepared(what: string): never {
  throw new Error(`${what} before planning: name it in the role's inputs`);
}

/**
 * Every input the roles of these hosts need. A role that refuses a host's vars needs nothing there
 * (no release is built for a host that cannot be planned): planning reports why.
 */
export function neededInputs<P>(
  hosts: readonly Host[],
  play: P,
  rolesOf: (host: Host) => readonly { inputs?: (host: Host, play: P) => InputNeeds }[],
): InputNeeds[] {
  return hosts.flatMap((host) =>
    rolesOf(host).flatMap((role) => {
      try {
        return role.inputs === undefined ? [] : [role.inputs(host, play)];
      } catch {
        return [];
      }
    }),
  );
}
