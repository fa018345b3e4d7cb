import type { Fact } from './fact.js';
import { lines } from './fact.js';

export interface SysctlFact {
  /** The drop-in file under /etc/sysctl.d: its owner, group, mode and content; null when absent. */
  file: { owner: string; group: string; mode: number; content: string } | null;
  /** The kernel's live value of each key asked for, whitespace collapsed; a key the kernel lacks is absent. */
  live: Map<string, string>;
}

// The file is $1, the keys' /proc/sys paths the rest: never part of the script. Read from /proc/sys
// itself, so the probe needs no sysctl binary (procps) on a fresh host.
const sysctlScript = `f=$1; shift
if [ -f "$f" ]; then printf 'file %s\\n' "$(stat -c '%U|%G|%a' -- "$f")"; printf 'content %s\\n' "$(base64 -w0 -- "$f")"; fi
for p; do v=$(cat -- "/proc/sys/$p" 2>/dev/null) && printf 'key %s %s\\n' "$p" "$(printf '%s' "$v" | tr -s '\\t ' '  ')"; done
exit 0`;

/** "net.ipv4.tcp_syncookies" → "net/ipv4/tcp_syncookies" (the keys sysctl.d files use have no '/'). */
export const procPath = (key: string) => key.replaceAll('.', '/');

/** A sysctl.d file and the live values of `keys`. */
export function sysctlFact(file: string, keys: readonly string[]): Fact<SysctlFact> {
  return {
    name: `sysctl ${file}`,
    command: ['sh', '-c', sysctlScript, 'sh', file, ...keys.map(procPath)],
    parse: ({ stdout }) => {
      let stat: string | undefined;
      let content: string | undefined;
      const live = new Map<string, string>();
      for (const line of lines(stdout)) {
        const tag = line.slice(0, line.indexOf(' '));
        const rest = line.slice(line.indexOf(' ') + 1);
        if (tag === 'file') stat = rest;
        else if (tag === 'content') content = rest;
        else if (tag === 'key')
          live.set(rest.slice(0, rest.indexOf(' ')).replaceAll('/', '.'), rest.slice(rest.indexOf(' ') + 1).trim());
      }
      if (stat === undefined) return { file: null, live };
      const [owner = '', group = '', mode = ''] = stat.split('|');
      return {
        file: { owner, group, mode: parseInt(mode, 8), content: Buffer.from(content ?? '', 'base64').toString('utf8') },
        live,
      };
    },
  };
}
