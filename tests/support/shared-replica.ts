import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { imageTag, repoRoot } from './paths.js';

/**
 * One replica (and one set of the API suites' containers: started-api.ts) for every test file of a
 * test run. `node --test` runs each file in a process of its
 * own (Node 20 has no global setup), so the replica outlives the file that started it: its settings
 * are kept in .local/shared-replicas/, keyed by the test runner's pid (the files' parent) and the
 * image tag, and the next file attaches to it. A detached reaper removes it (containers, networks,
 * volumes) once the runner has exited, whether the run passed, failed or was killed.
 *
 * Shared only under the test runner (NODE_TEST_CONTEXT) unless REPLICA_SHARING=off; a file run on
 * its own still shares with nobody and is cleaned up when its runner exits.
 */
export interface SharedReplicaState {
  projectName: string;
  composeEnvironment: Record<string, string>;
  bastionUser: string;
  bastionKey: { privateKey: string; publicKey: string };
  mailCatchallPassword: string;
}

const directory = join(repoRoot, '.local', 'shared-replicas');

export function sharingWanted(): boolean {
  return process.env.NODE_TEST_CONTEXT !== undefined && process.env.REPLICA_SHARING !== 'off';
}

/** The runner's pid: every file of one `node --test` run has it as its parent. */
function scope(name: string): string {
  return `${name}-${imageTag}-${process.ppid}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `work` with the run's shared replica (undefined when none yet), holding its lock. */
export function withSharedReplicaLock<T>(work: (state: SharedReplicaState | undefined) => Promise<T>): Promise<T> {
  return withSharedLock('replica', work);
}

/**
 * Runs `work` with the run's shared `name` (undefined when none yet), holding its lock: a file
 * created exclusively, naming its owner's pid.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the state's shape
export async function withSharedLock<S, T>(name: string, work: (state: S | undefined) => Promise<T>): Promise<T> {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const lock = join(directory, `${scope(name)}.lock`);
  for (let waited = 0; ; waited += 1) {
    try {
      closeSync(openSync(lock, 'wx'));
      writeFileSync(lock, String(process.pid));
      break;
    } catch {
      const owner = Number(readFileSync(lock, { encoding: 'utf8', flag: 'a+' }) || 0);
      // A holder that died (killed mid-start) leaves its lock: taken over, not waited for.
      if (owner > 0 && !alive(owner)) rmSync(lock, { force: true });
      else if (waited > 1800)
        throw new Error(`the shared ${name}'s lock ${lock} is held by pid ${owner} for over 30 minutes`);
      else await sleep(1000);
    }
  }
  try {
    const stateFile = join(directory, `${scope(name)}.json`);
    const state = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as S) : undefined;
    return await work(state);
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Records the replica for the files that follow, and starts its reaper: a detached shell that waits
 * for the runner to exit, then takes the project down.
 */
export function shareReplica(state: SharedReplicaState): void {
  share(
    'replica',
    state,
    'docker compose -p "$COMPOSE_PROJECT_NAME" -f docker-compose.yml down --volumes --remove-orphans --timeout 10',
    state.composeEnvironment,
  );
}

/** Forgets a shared replica that could not be attached to (and takes it down). */
export async function forgetSharedReplica(state: SharedReplicaState): Promise<void> {
  await forget(
    'replica',
    [
      'docker',
      'compose',
      '-p',
      state.projectName,
      '-f',
      'docker-compose.yml',
      'down',
      '--volumes',
      '--remove-orphans',
      '--timeout',
      '10',
    ],
    state.composeEnvironment,
  );
}

/**
 * Records `state` as the run's shared `name` for the files that follow, and starts its reaper: a
 * detached shell that waits for the runner to exit, then runs `teardown` (with `env`).
 */
export function share(name: string, state: object, teardown: string, env: Record<string, string> = {}): void {
  const stateFile = join(directory, `${scope(name)}.json`);
  writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
  const reaper = spawn(
    'bash',
    [
      '-c',
      `while kill -0 "$RUNNER_PID" 2>/dev/null; do sleep 2; done; ${teardown} >/dev/null 2>&1; rm -f "$STATE_FILE"`,
    ],
    {
      cwd: repoRoot,
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, ...env, RUNNER_PID: String(process.ppid), STATE_FILE: stateFile },
    },
  );
  reaper.unref();
}

/** Forgets the shared `name` (it could not be attached to) and runs `teardown` now. */
export async function forget(name: string, teardown: string[], env: Record<string, string> = {}): Promise<void> {
  rmSync(join(directory, `${scope(name)}.json`), { force: true });
  const [command = 'true', ...args] = teardown;
  await new Promise<void>((resolve) => {
    spawn(command, args, { cwd: repoRoot, stdio: 'ignore', env: { ...process.env, ...env } }).on('close', () =>
      resolve(),
    );
  });
}
