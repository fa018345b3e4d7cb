import type { Fact } from '../../facts/fact.js';
import { combineFacts, lines } from '../../facts/fact.js';
import type { FileFact } from '../../facts/files.js';
import { fileFact } from '../../facts/files.js';
import type { Host } from '../../inventories/schema.js';
import { planFile } from '../../operations/files.js';
import type { Operation } from '../../operations/operation.js';
import { renderEnvsubst } from '../../templates/envsubst.js';
import type { Play, Role } from '../role.js';

export const sshdConfigPath = '/etc/ssh/sshd_config';

/** Where sshd may forward to: a bastion's destinations, or nothing (every other host). */
export interface SshdForwarding {
  tcpForwarding: 'local' | 'no';
  /** host:port destinations, or 'none'. */
  permitOpen: readonly string[] | 'none';
}

/** "10.0.1.10:22"; an IPv6 address in brackets, as PermitOpen reads it. */
const destination = (address: string, port: number) => `${address.includes(':') ? `[${address}]` : address}:${port}`;

/**
 * A bastion forwards to what the security groups let the bastion reach: every ingress rule of every
 * host's roles whose `from` names the bastion (the hosts' SSH, the monitoring UIs), at that host's
 * inventory address, as the provisioner and the operators ask for it (PermitOpen compares names, it
 * resolves nothing). Any other host forwards nothing.
 */
export function sshdForwarding(host: Host, play: Play, rolesOf: (host: Host) => readonly Role[]): SshdForwarding {
  if (!host.groups.includes('bastion')) return { tcpForwarding: 'no', permitOpen: 'none' };
  const destinations = new Set<string>();
  for (const target of play.hosts) {
    // The inventory's SSH port, which the provisioner jumps to (22 unless the inventory says otherwise).
    destinations.add(destination(target.address, target.port));
    for (const role of rolesOf(target)) {
      for (const rule of role.ingress ?? []) {
        if (rule.from !== 'anywhere' && rule.from.includes('bastion') && (rule.protocol ?? 'tcp') === 'tcp')
          destinations.add(destination(target.address, rule.port));
      }
    }
  }
  return { tcpForwarding: 'local', permitOpen: [...destinations].sort() };
}

/**
 * compose/bastion/sshd_config rendered as the bastion image's entrypoint renders it: the forwarding
 * variables substituted, and the KexAlgorithms line cut to what this OpenSSH implements (`ssh -Q kex`),
 * in the source's order. An empty `knownKex` (not known yet: --check before OpenSSH is installed)
 * keeps the line as written.
 */
export function renderSshdConfig(template: string, forwarding: SshdForwarding, knownKex: readonly string[]): string {
  const rendered = renderEnvsubst(
    template,
    {
      SSH_TCP_FORWARDING: forwarding.tcpForwarding,
      SSH_PERMIT_OPEN: forwarding.permitOpen === 'none' ? 'none' : forwarding.permitOpen.join(' '),
    },
    'compose/bastion/sshd_config',
  );
  if (knownKex.length === 0) return rendered;
  return rendered.replace(/^KexAlgorithms (\S+)$/m, (_line, list: string) => {
    const kept = list.split(',').filter((algorithm) => knownKex.includes(algorithm));
    if (kept.length === 0)
      throw new Error(`compose/bastion/sshd_config: this OpenSSH implements none of the key exchanges ${list}`);
    return `KexAlgorithms ${kept.join(',')}`;
  });
}

/** The key exchange algorithms the host's OpenSSH implements (empty when ssh is not installed). */
export const kexFact: Fact<string[]> = {
  name: 'ssh -Q kex',
  command: ['sh', '-c', 'command -v ssh >/dev/null 2>&1 || exit 0; ssh -Q kex'],
  parse: ({ stdout }) =>
    lines(stdout)
      .map((line) => line.trim())
      .filter((line) => line !== ''),
};

interface SshdConfigFact {
  file: FileFact | null;
  kex: string[];
}

/**
 * /etc/ssh/sshd_config from the one source (its text, read before planning), for this host's OpenSSH; written to a temporary file,
 * checked by `sshd -t -f` and only then renamed over the running one (a config sshd rejects never
 * replaces it). Root-only (dev-sec baseline).
 */
export function sshdConfig(template: string, forwarding: SshdForwarding): Operation<SshdConfigFact> {
  return {
    fact: combineFacts<SshdConfigFact>(`sshd_config ${sshdConfigPath}`, {
      file: fileFact(sshdConfigPath),
      kex: kexFact,
    }),
    plan: ({ file, kex }) =>
      planFile(
        {
          path: sshdConfigPath,
          content: renderSshdConfig(template, forwarding, kex),
          mode: '0600',
          validate: 'sshd -t -f %s',
        },
        file,
      ),
  };
}
