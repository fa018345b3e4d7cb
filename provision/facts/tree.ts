import type { Fact } from './fact.js';
import { lines } from './fact.js';

// "$1" is the directory; the probe never fails on its absence.
const manifestScript = `[ -d "$1" ] || exit 0
echo directory
cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum`;

/** The sha256 manifest of a directory's files; null when there is no such directory. */
export function treeFact(directory: string): Fact<string | null> {
  return {
    name: `tree ${directory}`,
    command: ['sh', '-c', manifestScript, 'sh', directory],
    parse: ({ stdout }) => {
      const [marker, ...rest] = lines(stdout);
      if (marker !== 'directory') return null;
      return rest.map((line) => `${line}\n`).join('');
    },
  };
}
