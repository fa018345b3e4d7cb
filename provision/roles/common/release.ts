import { PlanError } from '../../core/errors.js';
import type { Fact } from '../../facts/fact.js';
import { lines } from '../../facts/fact.js';
import type { Operation } from '../../operations/operation.js';
import { noop } from '../../operations/operation.js';

/**
 * The releases the roles are written and tested for (a lab of each: tests/integration/provision).
 * Debian 12 (OpenSSH 9.2) and 13 (OpenSSH 10.0): the sshd_config and every package the roles name
 * exist on both. Another release fails its host before anything changes on it.
 */
export const supportedReleases: Readonly<Record<string, string>> = { '12': 'bookworm', '13': 'trixie' };

export interface OsRelease {
  id: string;
  versionId: string | null;
  codename: string | null;
  prettyName: string;
}

/** /etc/os-release's ID, VERSION_ID, VERSION_CODENAME and PRETTY_NAME; null when the file is missing. */
export const osReleaseFact: Fact<OsRelease | null> = {
  name: 'os-release',
  command: ['sh', '-c', '[ -r /etc/os-release ] || exit 0; cat /etc/os-release'],
  parse: ({ stdout }) => {
    const fields = new Map<string, string>();
    for (const line of lines(stdout)) {
      const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (match?.[1] && match[2] !== undefined) fields.set(match[1], match[2].replace(/^(["'])(.*)\1$/, '$2'));
    }
    if (fields.size === 0) return null;
    return {
      id: fields.get('ID') ?? 'unknown',
      versionId: fields.get('VERSION_ID') ?? null,
      codename: fields.get('VERSION_CODENAME') ?? null,
      prettyName: fields.get('PRETTY_NAME') ?? 'an unnamed release',
    };
  },
};

/** Nothing to change when the host runs a supported release; a PlanError naming it otherwise. */
export function planSupportedRelease(release: OsRelease | null): ReturnType<Operation<OsRelease | null>['plan']> {
  const supported = Object.entries(supportedReleases)
    .map(([version, codename]) => `Debian ${version} (${codename})`)
    .join(', ');
  if (release === null)
    throw new PlanError('', `no /etc/os-release: cannot tell the release (supported: ${supported})`);
  const { id, versionId, codename, prettyName } = release;
  if (id === 'debian' && versionId !== null && supportedReleases[versionId] !== undefined)
    return noop(`${prettyName}: supported`);
  const what = `${prettyName} (ID=${id}${versionId ? `, VERSION_ID=${versionId}` : ''}${codename ? `, ${codename}` : ''})`;
  throw new PlanError(
    '',
    `runs ${what}, which the roles do not support: supported are ${supported}. Nothing was changed on this host.`,
  );
}

export const supportedRelease: Operation<OsRelease | null> = { fact: osReleaseFact, plan: planSupportedRelease };
