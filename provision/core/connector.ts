// What the runner needs from a transport: run a command on one host, and read several probes in one
// round trip. connectors/ssh.ts implements it over SSH through the bastion; the runner's unit tests
// implement it with a table of answers.

export interface RunOptions {
  stdin?: string | Buffer;
  /** Through `sudo -n` (the default): as root, never prompting for a password. */
  sudo?: boolean;
  /** Throw a CommandError on a non-zero exit (the default); probes pass false. */
  check?: boolean;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One host's session. Commands are argument vectors, never shell strings. */
export interface Connector {
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  /**
   * Read-only probes (as root), in order, in one round trip: each result is what `run(argv, { check:
   * false })` would have returned for it alone.
   */
  probe(commands: readonly (readonly string[])[]): Promise<RunResult[]>;
  close(): void;
}
