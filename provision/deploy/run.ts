import { execFile } from 'node:child_process';

export class CommandError extends Error {
  override readonly name = 'CommandError';
}

/** Runs a command (argument array, never a shell string); throws naming the task, the command and its output. */
export function run(
  task: string,
  argv: string[],
  options: { input?: string; env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const [command = '', ...args] = argv;
    const child = execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        maxBuffer: 64 * 1024 * 1024,
        timeout: options.timeoutMs ?? 300_000,
      },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new CommandError(
              `${task}: \`${argv.slice(0, 6).join(' ')}${argv.length > 6 ? ' …' : ''}\` failed (${error.code ?? error.signal ?? 'error'}): ${(stderr || stdout).trim().slice(-1500)}`,
            ),
          );
        else resolve(stdout);
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
