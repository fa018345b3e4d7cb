import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/**
 * A Node package of the repo (api/, monitoring/notifier/) as a release: what its compose Dockerfile
 * puts in the image, as one tar.gz — the compiled JavaScript (dist/), the production node_modules,
 * package.json and the package's assets (the API's migrations) — built here the way the Dockerfile's
 * build stage builds it (npm ci, npm run build, npm prune --omit=dev) and named by the sha256 of its
 * bytes. The archive is reproducible (sorted entries, fixed mtime and owners, gzip without a
 * timestamp), so the same sources give the same name on every run, and a converge with nothing new
 * changes nothing.
 */
export interface NodePackage {
  /** Names the cache and the input key: "api" → node_modules/.cache/refereezy-api-release. */
  name: string;
  /** How messages name it: "API". */
  title: string;
  /** The package's folder, relative to the repo root: "api", "monitoring/notifier". */
  dir: string;
  /** Folders of the package shipped as they are, besides package.json, dist and node_modules ("migrations"). */
  assets?: readonly string[];
  /** The compose Dockerfile whose build this mirrors, relative to the repo root. */
  dockerfile: string;
}

export interface NodeRelease {
  /** The first 16 hex digits of the sha256: the release's directory name on the hosts. */
  id: string;
  sha256: string;
  tarball: Buffer;
}

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Bumped when the way the artifact is built changes, so cached ones are not reused. */
const builderVersion = '2';

/**
 * The build stage of the packages' Dockerfiles (compose/api/Dockerfile, compose/notifier/Dockerfile),
 * in its order; the unit tests check each Dockerfile still runs these.
 */
export const buildSteps: readonly (readonly string[])[] = [
  ['npm', 'ci', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline'],
  ['npm', 'run', 'build'],
  ['npm', 'prune', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'],
];

/** What the release holds, top level: what the Dockerfile's final stage copies into the image. */
export function archiveContents(pkg: NodePackage): string[] {
  return ['package.json', 'dist', ...(pkg.assets ?? []), 'node_modules'];
}

/** Every file of a directory, relative, sorted (for the input key). */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? walk(full, base) : [path.relative(base, full)];
    })
    .sort();
}

/** The sources the artifact is built from, relative to the repo root; a change to any of them is a new release. */
export function inputFiles(pkg: NodePackage): string[] {
  const packageDir = path.join(repoRoot, pkg.dir);
  const src = walk(path.join(packageDir, 'src'))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => path.join(pkg.dir, 'src', file));
  const assets = (pkg.assets ?? []).flatMap((asset) =>
    walk(path.join(packageDir, asset)).map((file) => path.join(pkg.dir, asset, file)),
  );
  const manifests = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'].map((file) =>
    path.join(pkg.dir, file),
  );
  return ['tsconfig.base.json', ...manifests, ...src, ...assets];
}

/** The sha256 of the inputs: the name of the cached artifact. */
export function inputKey(pkg: NodePackage): string {
  const hash = createHash('sha256').update(`refereezy-${pkg.name}-release ${builderVersion}\n`);
  for (const file of inputFiles(pkg))
    hash
      .update(`${file}\n`)
      .update(readFileSync(path.join(repoRoot, file)))
      .update('\n');
  return hash.digest('hex');
}

function exec(pkg: NodePackage, argv: readonly string[], cwd: string): void {
  const [command = '', ...args] = argv;
  try {
    execFileSync(command, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: Buffer; stdout?: Buffer };
    const output = `${stdout?.toString() ?? ''}${stderr?.toString() ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${pkg.title} release: \`${argv.join(' ')}\` failed in ${cwd}:\n${output}`, { cause: error });
  }
}

/** Native addons would be built for this machine, not the hosts: the artifact must be plain JavaScript. */
function assertNoNativeAddons(pkg: NodePackage, nodeModules: string): void {
  const native = walk(nodeModules).filter((file) => file.endsWith('.node') || path.basename(file) === 'binding.gyp');
  if (native.length > 0)
    throw new Error(
      `${pkg.title} release: native addons in the production dependencies (${native.slice(0, 5).join(', ')}): they would have to be built on the hosts`,
    );
}

/** Builds the artifact in a scratch directory that mirrors the repo's layout (tsconfig.json extends the root's base), as the Dockerfile's build stage does. */
function build(pkg: NodePackage): Buffer {
  const scratch = mkdtempSync(path.join(tmpdir(), `refereezy-${pkg.name}-release-`));
  try {
    const packageDir = path.join(repoRoot, pkg.dir);
    const work = path.join(scratch, pkg.dir);
    mkdirSync(work, { recursive: true });
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'])
      cpSync(path.join(packageDir, file), path.join(work, file));
    cpSync(path.join(repoRoot, 'tsconfig.base.json'), path.join(scratch, 'tsconfig.base.json'));
    cpSync(path.join(packageDir, 'src'), path.join(work, 'src'), { recursive: true });
    // NODE_EXTRA_CA_CERTS, when the operator's machine needs it for the registry, is inherited.
    for (const step of buildSteps) exec(pkg, step, work);
    assertNoNativeAddons(pkg, path.join(work, 'node_modules'));

    const release = path.join(scratch, 'release');
    mkdirSync(release);
    cpSync(path.join(work, 'package.json'), path.join(release, 'package.json'));
    cpSync(path.join(work, 'dist'), path.join(release, 'dist'), { recursive: true });
    // Verbatim: npm's relative .bin links stay relative (Node would make them absolute, into this scratch directory).
    cpSync(path.join(work, 'node_modules'), path.join(release, 'node_modules'), {
      recursive: true,
      verbatimSymlinks: true,
    });
    for (const asset of pkg.assets ?? [])
      cpSync(path.join(packageDir, asset), path.join(release, asset), { recursive: true });
    const tar = path.join(scratch, 'release.tar');
    // Reproducible: the same files give the same bytes (GNU tar; gzip below writes no timestamp).
    exec(
      pkg,
      [
        'tar',
        '--sort=name',
        '--mtime=@0',
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        '--mode=u+rwX,go+rX,go-w',
        '--format=gnu',
        '-cf',
        tar,
        '-C',
        release,
        ...archiveContents(pkg),
      ],
      scratch,
    );
    return gzipSync(readFileSync(tar), { level: 9 });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const memo = new Map<string, NodeRelease>();

function named(tarball: Buffer): NodeRelease {
  const sha256 = createHash('sha256').update(tarball).digest('hex');
  return { id: sha256.slice(0, 16), sha256, tarball };
}

/**
 * The release of a package as the working tree has it: built once per set of sources (cached under
 * node_modules/.cache/refereezy-<name>-release), or read from a file built elsewhere (CI) when one is given.
 */
export function nodeRelease(pkg: NodePackage, file?: string): NodeRelease {
  if (file !== undefined) {
    const cached = memo.get(`file:${file}`) ?? named(readFileSync(file));
    memo.set(`file:${file}`, cached);
    return cached;
  }
  const key = inputKey(pkg);
  const known = memo.get(key);
  if (known) return known;
  const cacheDir = path.join(repoRoot, 'node_modules', '.cache', `refereezy-${pkg.name}-release`);
  const cacheFile = path.join(cacheDir, `${key}.tar.gz`);
  let tarball: Buffer;
  if (existsSync(cacheFile) && statSync(cacheFile).size > 0) {
    tarball = readFileSync(cacheFile);
  } else {
    process.stderr.write(
      `building the ${pkg.title} release (npm ci, npm run build, npm prune: as ${pkg.dockerfile})…\n`,
    );
    tarball = build(pkg);
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(`${cacheFile}.partial`, tarball);
    renameSync(`${cacheFile}.partial`, cacheFile);
  }
  const release = named(tarball);
  memo.set(key, release);
  return release;
}
