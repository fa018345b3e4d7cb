/** Characters a POSIX shell never interprets in a word. */
const plain = /^[A-Za-z0-9_/.,:=@%+-]+$/;

/** One argument as a single shell word: single-quoted unless it is plainly safe. */
export function quote(argument: string): string {
  if (argument.includes('\0')) throw new Error('an argument cannot contain a NUL byte');
  if (plain.test(argument)) return argument;
  return `'${argument.replaceAll("'", `'\\''`)}'`;
}

/** An argument vector as the command line the remote shell splits back into the same vector. */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('an empty command');
  return argv.map(quote).join(' ');
}
