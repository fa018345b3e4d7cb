import type { Fact } from './fact.js';
import type { FileFact } from './files.js';
import { fileFact } from './files.js';

export interface NftablesFact {
  /** The ruleset file nftables.service loads. */
  file: FileFact | null;
  /** Whether the kernel has the table now (false too when nft is not installed yet). */
  loaded: boolean;
}

// The table is $1, then the file fact's own command runs: one probe, two answers, the first line ours.
const nftablesScript = `if command -v nft >/dev/null && nft list table inet "$1" >/dev/null 2>&1; then echo loaded; else echo absent; fi
shift
exec "$@"`;

/** The ruleset file (as fileFact reads it) and whether its table `inet <table>` is loaded. */
export function nftablesFact(path: string, table: string): Fact<NftablesFact> {
  const file = fileFact(path);
  return {
    name: `nftables ${path}, table inet ${table}`,
    command: ['sh', '-c', nftablesScript, 'sh', table, ...file.command],
    parse: (result) => {
      const newline = result.stdout.indexOf('\n');
      const first = newline === -1 ? result.stdout : result.stdout.slice(0, newline);
      return {
        loaded: first === 'loaded',
        file: file.parse({ ...result, stdout: newline === -1 ? '' : result.stdout.slice(newline + 1) }),
      };
    },
  };
}
