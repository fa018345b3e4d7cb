/**
 * What went wrong on a host, typed so the recap (and a caller) can tell an unreachable host from a
 * refused key, a sudo problem or a failing command. Every error names its host; the runner adds the
 * role and the task it happened in.
 */
export abstract class ProvisionError extends Error {
  abstract readonly kind: 'authentication' | 'host-key' | 'network' | 'sudo' | 'command' | 'plan';
  role?: string;
  task?: string;

  constructor(
    /** Empty when raised where the host is not known (a pure plan): the runner fills it in. */
    public host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** "web1 (common: Render sshd_config): …", as the progress and the recap print it. */
  describe(): string {
    const where = this.role && this.task ? ` (${this.role}: ${this.task})` : '';
    return `${this.host}${where}: ${this.message}`;
  }
}

/** The key was refused (or no key was offered): never retried with a password. */
export class AuthenticationError extends ProvisionError {
  readonly kind = 'authentication';
}

/** The host key is unknown (and first-use pinning was not asked for) or differs from the pinned one. */
export class HostKeyError extends ProvisionError {
  readonly kind = 'host-key';
}

/** The host (or the bastion) cannot be reached: refused, no route, no such name, or a timeout. */
export class NetworkError extends ProvisionError {
  readonly kind = 'network';
}

/** sudo refused to run the command without a password, or the user may not use it. */
export class SudoError extends ProvisionError {
  readonly kind = 'sudo';
}

/** A command ran and failed: its exit code and the end of its stderr. */
export class CommandError extends ProvisionError {
  readonly kind = 'command';

  constructor(
    host: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderrTail: string,
  ) {
    super(host, `\`${command}\` exited with ${exitCode ?? 'a signal'}${stderrTail ? `: ${stderrTail}` : ''}`);
  }
}

/** An operation cannot reach its desired state from what the host has (e.g. a directory where a file should be). */
export class PlanError extends ProvisionError {
  readonly kind = 'plan';
}

/** The last lines of a command's stderr, for an error message. */
export function tail(text: string, lines = 5): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
