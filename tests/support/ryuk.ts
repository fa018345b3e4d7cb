import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ryukImage = process.env.RYUK_CONTAINER_IMAGE ?? 'testcontainers/ryuk:0.14.0';

/**
 * Testcontainers' reaper (Ryuk) removes what a crashed run leaves behind, but its image must come
 * from a registry. Where it is neither present nor pullable, starting it would fail every test: run
 * without it. The suites clean up after themselves in any case.
 */
export async function useRyukOnlyWhereAvailable(): Promise<void> {
  if (process.env.TESTCONTAINERS_RYUK_DISABLED !== undefined) return;
  try {
    await run('docker', ['image', 'inspect', ryukImage]);
  } catch {
    try {
      await run('docker', ['pull', '-q', ryukImage], { timeout: 30_000 });
    } catch {
      process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    }
  }
}
