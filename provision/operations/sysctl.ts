import { PlanError } from '../core/errors.js';
import type { SysctlFact } from '../facts/sysctl.js';
import { sysctlFact } from '../facts/sysctl.js';
import { atomicWrite } from './files.js';
import { unifiedDiff } from './diff.js';
import type { Command, Operation, Plan } from './operation.js';
import { change, noop, run } from './operation.js';

export interface SysctlDesired {
  /** The drop-in that sets the values at every boot: "/etc/sysctl.d/60-refereezy-hardening.conf". */
  path: string;
  /** Its content, sysctl.d syntax (`key = value`, # comments): the values the kernel must have now. */
  content: string;
}

const key = /^[a-z0-9_]+(\.[a-z0-9_-]+)+$/;
const dropIn = /^\/etc\/sysctl\.d\/[A-Za-z0-9_.-]+\.conf$/;

/** A sysctl.d file's `key = value` lines, in order; a malformed line is an error naming it. */
export function parseSysctlConf(text: string, source = 'sysctl.d file'): Map<string, string> {
  const values = new Map<string, string>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const match = /^-?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!match?.[1] || !key.test(match[1]))
      throw new PlanError('', `${source}:${index + 1}: not a "key = value" line: ${line}`);
    values.set(match[1], (match[2] ?? '').trim().replace(/\s+/g, ' '));
  });
  return values;
}

/**
 * The drop-in file (read at every boot by systemd-sysctl), and each live value that differs set now
 * with `sysctl -w`. Only differing values are written: where /proc/sys is read-only (a container,
 * whose namespaced net.* values are given when it is created) a host whose values already match
 * converges without a write.
 */
export function planSysctl(desired: SysctlDesired, current: SysctlFact): Plan {
  const values = parseSysctlConf(desired.content, desired.path);
  const unknown = [...values.keys()].filter((name) => !current.live.has(name));
  if (unknown.length > 0) throw new PlanError('', `the kernel has no ${unknown.join(', ')} (from ${desired.path})`);

  const commands: Command[] = [];
  const what: string[] = [];
  let diff: string | undefined;
  if (current.file === null || current.file.content !== desired.content) {
    commands.push(atomicWrite({ path: desired.path, content: desired.content, mode: '0644' }));
    what.push(`${current.file === null ? 'create' : 'update the content of'} ${desired.path}`);
    diff = unifiedDiff(desired.path, current.file?.content ?? '', desired.content);
  } else if (current.file.owner !== 'root' || current.file.group !== 'root' || current.file.mode !== 0o644) {
    commands.push(run('chown', 'root:root', '--', desired.path), run('chmod', '0644', '--', desired.path));
    what.push(`${desired.path}: owner root:root, mode 0644`);
  }
  const differing = [...values].filter(([name, value]) => current.live.get(name) !== value);
  for (const [name, value] of differing) commands.push(run('sysctl', '-q', '-w', `${name}=${value}`));
  if (differing.length > 0)
    what.push(
      `set ${differing.map(([name, value]) => `${name} ${current.live.get(name) ?? '?'} → ${value}`).join(', ')}`,
    );

  if (commands.length === 0) return noop(`${desired.path} is up to date and the kernel has its ${values.size} values`);
  return change(what.join('; '), commands, diff);
}

/** Kernel parameters: set now and at every boot. */
export function sysctl(desired: SysctlDesired): Operation<SysctlFact> {
  if (!dropIn.test(desired.path)) throw new PlanError('', `"${desired.path}" is not a file of /etc/sysctl.d`);
  const keys = [...parseSysctlConf(desired.content, desired.path).keys()];
  return { fact: sysctlFact(desired.path, keys), plan: (current) => planSysctl(desired, current) };
}
