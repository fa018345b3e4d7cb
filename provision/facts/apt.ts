import type { Fact } from './fact.js';
import { lines } from './fact.js';

/** What the packages operation reads: which of its packages are installed, and whether dpkg was interrupted. */
export interface AptFact {
  installed: Set<string>;
  /**
   * Why dpkg must be recovered (`dpkg --configure -a`) before apt will install anything: a run that
   * died inside dpkg leaves its journal in /var/lib/dpkg/updates (apt then refuses: "dpkg was
   * interrupted"), or packages half-installed or half-configured. null when dpkg is consistent.
   */
  interrupted: string | null;
}

const marker = '--8<-- refereezy dpkg';
// dpkg-query exits 1 when some name is unknown to it: that is an answer, not a failure. The journal
// entries are files named by digits only (what apt itself checks); `dpkg --audit` names broken packages.
const script = `dpkg-query --show --showformat='\${Package}\\t\${db:Status-Status}\\n' -- "$@"
echo '${marker}'
ls -A /var/lib/dpkg/updates 2>/dev/null | grep -E '^[0-9]+$' | head -n 1 | sed 's/^/journal /'
dpkg --audit 2>/dev/null | grep -E '^ [a-z0-9][a-z0-9+.-]+ ' | head -n 5 | sed 's/^ \\([^ ]*\\).*/package \\1/'
exit 0`;

/** The packages among `names` that dpkg reports installed, and whether dpkg was left interrupted. */
export function aptFact(names: string[]): Fact<AptFact> {
  return {
    name: `packages ${names.join(' ')}`,
    command: ['sh', '-c', script, 'sh', ...names],
    parse: ({ stdout }) => {
      const all = lines(stdout);
      const split = all.indexOf(marker);
      const packages = split === -1 ? all : all.slice(0, split);
      const state = split === -1 ? [] : all.slice(split + 1);
      const journal = state.some((line) => line.startsWith('journal '));
      const broken = state.filter((line) => line.startsWith('package ')).map((line) => line.slice('package '.length));
      const reasons = [
        ...(journal ? ['its journal has unapplied entries'] : []),
        ...(broken.length > 0
          ? [`${broken.join(', ')} ${broken.length === 1 ? 'is' : 'are'} only partly installed or configured`]
          : []),
      ];
      return {
        installed: new Set(
          packages
            .map((line) => line.split('\t'))
            .filter(([, status]) => status === 'installed')
            .map(([name = '']) => name.replace(/:[a-z0-9]+$/, '')),
        ),
        interrupted: reasons.length === 0 ? null : `dpkg was interrupted: ${reasons.join('; ')}`,
      };
    },
  };
}
