import { isIPv4, isIPv6 } from 'node:net';
import { renderEnvsubst } from '../../templates/envsubst.js';

/** The replica image's pg_hba template: one source for the image's entrypoint and this role. */
export const pgHbaTemplate = new URL('../../../compose/db/pg_hba.conf.template', import.meta.url);

export interface PgHbaValues {
  APP_DB_NAME: string;
  APP_DB_USER: string;
  MONITOR_DB_USER: string;
}

/** A host's address as a pg_hba ADDRESS of that host alone (/32, /128); a CIDR as it is. */
export function hostCidr(address: string): string {
  if (isIPv4(address)) return `${address}/32`;
  if (isIPv6(address)) return `${address}/128`;
  const [ip = '', bits = '', ...rest] = address.split('/');
  const max = isIPv4(ip) ? 32 : isIPv6(ip) ? 128 : -1;
  if (rest.length === 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= max) return address;
  throw new Error(`"${address}" is neither an IP address nor a CIDR (pg_hba admits clients by address)`);
}

/**
 * Renders the template the way the image's entrypoint does with envsubst, for a list of client
 * CIDRs instead of the image's one: a line that names ${APP_CLIENT_CIDR} is repeated once per
 * CIDR, every other line is rendered once. With one CIDR the result is byte for byte the image's.
 */
export function renderPgHba(
  template: string,
  values: PgHbaValues,
  clientCidrs: readonly string[],
  source = 'compose/db/pg_hba.conf.template',
): string {
  if (clientCidrs.length === 0) throw new Error(`${source}: no client address to admit`);
  const variable = '${APP_CLIENT_CIDR}';
  const render = (line: string, cidr: string) => renderEnvsubst(line, { ...values, APP_CLIENT_CIDR: cidr }, source);
  // Comment lines that mention it describe it: they are rendered once, with the first CIDR.
  return template
    .split('\n')
    .flatMap((line) =>
      line.includes(variable) && !line.trimStart().startsWith('#')
        ? clientCidrs.map((cidr) => render(line, cidr))
        : [render(line, clientCidrs[0] ?? '')],
    )
    .join('\n');
}
