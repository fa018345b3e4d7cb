import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/** Who runs a deploy: DEPLOY_ACTOR (CI sets the GitHub actor), else the OS user, at this machine. */
export function deployActor(): string {
  return `${process.env.DEPLOY_ACTOR ?? process.env.GITHUB_ACTOR ?? userInfo().username}@${hostname()}`;
}

const HolderSchema = z.object({ who: z.string(), pid: z.number(), action: z.string(), since: z.string() });
export type LockHolder = z.infer<typeof HolderSchema>;

export class DeployLockedError extends Error {
  override readonly name = 'DeployLockedError';
  constructor(
    readonly environment: string,
    readonly holder: LockHolder | null,
    readonly lockFile: string,
  ) {
    super(
      holder
        ? `deploy to ${environment} refused: locked by ${holder.who} (pid ${holder.pid}, "${holder.action}", since ${holder.since}). ` +
            `Wait for it; if that process is gone: npm run deploy -- ${environment} unlock`
        : `deploy to ${environment} refused: ${lockFile} exists but names no holder; if no deploy runs: npm run deploy -- ${environment} unlock`,
    );
  }
}

/**
 * One deploy at a time per environment: a lock file created exclusively (O_EXCL, atomic on one
 * file system), holding who took it. Never broken automatically: a lock left by a killed deploy is
 * removed by `unlock`, on purpose, by someone who checked.
 */
export class DeployLock {
  private constructor(readonly file: string) {}

  static acquire(file: string, environment: string, action: string): DeployLock {
    mkdirSync(path.dirname(file), { recursive: true });
    const holder: LockHolder = { who: deployActor(), pid: process.pid, action, since: new Date().toISOString() };
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      throw new DeployLockedError(environment, DeployLock.holder(file), file);
    }
    writeSync(fd, `${JSON.stringify(holder)}\n`);
    closeSync(fd);
    return new DeployLock(file);
  }

  static holder(file: string): LockHolder | null {
    try {
      return HolderSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch {
      return null;
    }
  }

  release(): void {
    rmSync(this.file, { force: true });
  }
}
