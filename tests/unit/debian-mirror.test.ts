import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../support/paths.js';

const run = promisify(execFile);
const scratch: string[] = [];
after(() => Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true }))));

/** Runs scripts/lib/debian-mirror.sh against an apt configuration made of the given files. */
async function mirrorFor(files: Record<string, string>): Promise<{ mirror: string; error: string; ok: boolean }> {
  const etc = await mkdtemp(join(tmpdir(), 'apt-etc-'));
  scratch.push(etc);
  await mkdir(join(etc, 'sources.list.d'));
  for (const [name, content] of Object.entries(files)) await writeFile(join(etc, name), content);
  try {
    const { stdout } = await run('bash', ['-c', `source "${repoRoot}/scripts/lib/debian-mirror.sh" && debian_mirror`], {
      env: { ...process.env, APT_ETC_DIR: etc },
    });
    return { mirror: stdout.trim(), error: '', ok: true };
  } catch (error) {
    return { mirror: '', error: (error as { stderr: string }).stderr, ok: false };
  }
}

describe('debian_mirror (where base images and Compose plugins come from)', () => {
  it('when apt uses deb822 sources, then the archive URI is taken, not security or third-party repositories', async () => {
    const result = await mirrorFor({
      'sources.list.d/nodesource.sources': 'Types: deb\nURIs: https://repo.example.net/node_20.x\nSuites: nodistro\n',
      'sources.list.d/debian.sources':
        'Types: deb\nURIs: http://mirror.example.org/debian-security\nSuites: bookworm-security\n\n' +
        'Types: deb\nURIs: http://mirror.example.org/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n',
    });
    assert.deepEqual(result, { mirror: 'http://mirror.example.org/debian', error: '', ok: true });
  });

  it('when apt uses a one-line sources.list with options, then its archive URI is taken', async () => {
    const result = await mirrorFor({
      'sources.list': '# comment\ndeb [arch=amd64 signed-by=/k.gpg] https://mirror.example.org/debian bookworm main\n',
    });
    assert.equal(result.mirror, 'https://mirror.example.org/debian');
  });

  it('when apt knows no Debian archive, then it fails and says where it looked', async () => {
    const result = await mirrorFor({ 'sources.list.d/other.list': 'deb https://repo.example.net/apt stable main\n' });
    assert.equal(result.ok, false);
    assert.match(result.error, /no Debian archive found in .*sources\.list/);
  });
});
