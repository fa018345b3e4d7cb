import type { Fact } from './fact.js';
import { lines } from './fact.js';

/** The packages among `names` that dpkg reports installed. */
export function installedPackages(names: string[]): Fact<Set<string>> {
  return {
    name: `packages ${names.join(' ')}`,
    // dpkg-query exits 1 when some name is unknown to it: that is an answer, not a failure.
    command: ['dpkg-query', '--show', '--showformat=${Package}\\t${db:Status-Status}\\n', '--', ...names],
    parse: ({ stdout }) =>
      new Set(
        lines(stdout)
          .map((line) => line.split('\t'))
          .filter(([, status]) => status === 'installed')
          .map(([name = '']) => name.replace(/:[a-z0-9]+$/, '')),
      ),
  };
}
