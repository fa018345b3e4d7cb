import { z } from 'zod';
import type { Host } from '../../inventories/schema.js';
import { packages } from '../../operations/apt.js';
import { command } from '../../operations/command.js';
import { directory, file } from '../../operations/files.js';
import { addressFamily } from '../../operations/nftables.js';
import { run } from '../../operations/operation.js';
import { service } from '../../operations/systemd.js';
import { renderTemplate } from '../../templates/envsubst.js';
import type { InputNeeds } from '../inputs.js';
import { addresses, playInputs, type IngressRule, type Play, type Role, type Task } from '../role.js';
import { roleVars } from '../vars.js';
import { port } from '../../validation/validators.js';
import { tree } from '../../operations/tree.js';

/** The web image's nginx.conf and site template, and the web app it serves: one source for both. */
export const nginxConfSource = new URL('../../../compose/web/nginx.conf', import.meta.url);
export const siteTemplate = new URL('../../../compose/web/refereezy.conf.template', import.meta.url);
export const webAppSource = new URL('../../../web/', import.meta.url);
/** The WAF's files (ModSecurity's settings, our CRS setup and exclusions, the server-block include, the counter). */
export const wafSource = new URL('../../../compose/web/modsecurity/', import.meta.url);
/** Where each lands, as the web image's Dockerfile copies them. */
export const wafFiles = [
  { source: 'main.conf', path: '/etc/nginx/modsecurity/main.conf' },
  { source: 'crs-setup.conf', path: '/etc/nginx/modsecurity/crs-setup.conf' },
  { source: 'exclusions-before-crs.conf', path: '/etc/nginx/modsecurity/exclusions-before-crs.conf' },
  { source: 'exclusions-after-crs.conf', path: '/etc/nginx/modsecurity/exclusions-after-crs.conf' },
  { source: 'refereezy-rules.conf', path: '/etc/nginx/modsecurity/refereezy-rules.conf' },
  { source: 'site.conf', path: '/etc/nginx/modsecurity/site.conf' },
  { source: 'answer.conf', path: '/etc/nginx/modsecurity/answer.conf' },
  { source: 'waf.js', path: '/etc/nginx/modsecurity/waf.js' },
  { source: '00-waf.conf', path: '/etc/nginx/conf.d/00-waf.conf' },
] as const;

/** Where the image puts the web app (COPY web/ /srv/refereezy/web/) and the site's root says it is. */
export const webRoot = '/srv/refereezy/web';

const vars = z.object({
  /**
   * The API the site proxies /api/ to, over kept-alive connections: one name, resolved by nginx when
   * it starts or reloads, so a name with one address per API host spreads requests over them.
   * Default: the address of the inventory's only api host.
   */
  api_host: z
    .string()
    .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/, 'a host name or an IPv4 address')
    .optional(),
  api_port: port.default(3000),
  /** The resolver nginx asks for api_host; default: the Amazon-provided DNS, reachable from every VPC. */
  dns_resolver: z.ipv4('an IPv4 address').default('169.254.169.253'),
  /**
   * The load balancer's addresses or subnets (an ALB's nodes take addresses in its subnets: list
   * those CIDRs): the only sources web hosts admit HTTP from, besides hosts in group edge. [] when
   * the load balancer is a host of the inventory (group edge).
   */
  load_balancer_cidrs: z.array(
    z.string().refine((value) => addressFamily(value) !== 0, 'an IP address or network (10.0.0.0/24)'),
    {
      error: (issue) =>
        issue.input === undefined
          ? "required: the load balancer's addresses or subnets, the only sources of HTTP (e.g. [10.0.0.0/24, 10.0.10.0/24])"
          : 'a list of addresses or networks',
    },
  ),
});

type WebVars = z.output<typeof vars>;

function parseVars(host: Host): WebVars {
  return roleVars(vars, host, 'web');
}

/** api_host when set; else the inventory's one api host. Several need a name that resolves to all of them. */
export function apiHost(host: Host, play: Play, configured: string | undefined): string {
  if (configured !== undefined) return configured;
  const apis = play.hosts.filter((peer) => peer.groups.includes('api'));
  const [only] = apis;
  if (only && apis.length === 1) return only.address;
  const found =
    apis.length === 0
      ? 'the inventory has no host in group api'
      : `group api has ${apis.length} hosts (${apis.map((peer) => peer.name).join(', ')})`;
  throw new Error(
    `host ${host.name}: role web: vars.api_host: required, since ${found} and the site proxies /api/ to one name: ` +
      'set it to a DNS name with an address per API host (nginx resolves it through dns_resolver and spreads requests over them)',
  );
}

/** The site template's values, as the image's entrypoint takes them from its environment. */
export function siteValues(host: Host, play: Play, settings: WebVars = parseVars(host)): Record<string, string> {
  return {
    API_HOST: apiHost(host, play, settings.api_host),
    API_PORT: String(settings.api_port),
    DNS_RESOLVER: settings.dns_resolver,
  };
}

/** Where nginx's exporter listens: its ingress rule and its arguments. */
const exporterPort = 9113;

/**
 * compose/nginx-exporter's arguments, with the stub_status it reads on this host (the site template's
 * port 8081, which admits loopback): Prometheus scrapes the exporter, never nginx itself.
 */
export const exporterDefaults = `# The provisioning role web: the exporter of compose/nginx-exporter, beside nginx.
ARGS="--web.listen-address=:${exporterPort} --nginx.scrape-uri=http://127.0.0.1:8081/stub_status"
`;

// Read once per run, before planning: every web host gets the same files (and the same mtimes, so the same ETags behind the LB).
const inputs: InputNeeds = {
  files: [...wafFiles.map((waf) => new URL(waf.source, wafSource)), nginxConfSource, siteTemplate],
  trees: [webAppSource],
};

function tasks(host: Host, play: Play): Task[] {
  const settings = parseVars(host);
  const values = siteValues(host, play, settings);
  const read = playInputs(play);
  const webApp = read.tree(webAppSource);
  const defaultSite = '/etc/nginx/sites-enabled/default';
  return [
    {
      name: 'Install nginx, its WAF (ModSecurity, the OWASP CRS, njs for its counter) and its Prometheus exporter',
      operation: packages({
        packages: [
          'nginx',
          'libnginx-mod-http-modsecurity',
          'modsecurity-crs',
          'libnginx-mod-http-js',
          'prometheus-nginx-exporter',
        ],
        present: true,
      }),
    },
    { name: 'Create /etc/nginx/modsecurity', operation: directory({ path: '/etc/nginx/modsecurity', mode: '0755' }) },
    ...wafFiles.map((waf): Task => ({
      name: `Render ${waf.path} (compose/web/modsecurity/${waf.source} as it is)`,
      operation: file({ path: waf.path, content: read.text(new URL(waf.source, wafSource)), mode: '0644' }),
      notify: ['reload nginx'],
    })),
    {
      name: 'Render nginx.conf (compose/web/nginx.conf as it is)',
      operation: file({ path: '/etc/nginx/nginx.conf', content: read.text(nginxConfSource), mode: '0644' }),
      notify: ['reload nginx'],
    },
    {
      name: `Render the site from compose/web/refereezy.conf.template (/api/ → ${values.API_HOST}:${values.API_PORT})`,
      operation: file({
        path: '/etc/nginx/conf.d/refereezy.conf',
        content: renderTemplate(siteTemplate, read.text(siteTemplate), values),
        mode: '0644',
      }),
      notify: ['reload nginx'],
    },
    {
      // As the image does; nginx.conf does not include sites-enabled, so this is tidiness, not behaviour.
      name: "Remove Debian's default site",
      operation: command({
        argv: ['rm', '-f', '--', defaultSite],
        unless: ['sh', '-c', '! [ -e "$1" ] && ! [ -L "$1" ]', 'sh', defaultSite],
      }),
    },
    { name: 'Create /srv/refereezy', operation: directory({ path: '/srv/refereezy', mode: '0755' }) },
    { name: `Deploy the web app (web/) to ${webRoot}`, operation: tree({ path: webRoot, ...webApp }) },
    {
      name: 'Keep nginx enabled and running',
      operation: service({ unit: 'nginx.service', enabled: true, running: true }),
    },
    {
      name: "Point the nginx exporter at stub_status, as the replica's exporter beside each web server",
      operation: file({ path: '/etc/default/prometheus-nginx-exporter', content: exporterDefaults, mode: '0644' }),
      notify: ['restart nginx exporter'],
    },
    {
      name: 'Keep the nginx exporter enabled and running',
      operation: service({ unit: 'prometheus-nginx-exporter.service', enabled: true, running: true }),
    },
  ];
}

const ingress: IngressRule[] = [
  // 'edge': an ALB's addresses change within its subnets, which the inventory names (var
  // load_balancer_cidrs); a load balancer of the inventory is in group edge. Nothing else reaches nginx.
  { port: 80, from: ['edge'], why: 'HTTP from the load balancer' },
  // stub_status (8081) is read by the exporter on the host itself: loopback, no rule.
  {
    port: exporterPort,
    from: ['monitoring'],
    why: "nginx's exporter, for Prometheus on the monitoring hosts",
    scrape: 'web',
  },
  {
    port: 9145,
    from: ['monitoring'],
    why: "the WAF's counter of blocked requests (nginx itself), for Prometheus",
    scrape: 'waf',
  },
];

/** A web server: nginx as the replica's web image runs it (the web app, /api/ proxied), with its exporter. */
export const web: Role = {
  name: 'web',
  ingress,
  inputs: () => inputs,
  // The API is a peer (its ingress admits web); nginx resolves api_host through dns_resolver.
  egress: (host) => {
    const resolver = vars.shape.dns_resolver.catch('169.254.169.253').parse(host.vars.dns_resolver);
    return (['udp', 'tcp'] as const).map((protocol) => ({
      port: 53,
      protocol,
      to: addresses(resolver),
      why: `nginx's resolver for api_host (var dns_resolver), ${protocol}`,
    }));
  },
  tasks,
  handlers: {
    // Checked before the reload: a config nginx rejects never replaces the running one.
    'reload nginx': {
      name: 'reload nginx',
      commands: [run('nginx', '-t', '-q'), run('systemctl', 'reload', 'nginx.service')],
    },
    'restart nginx exporter': {
      name: 'restart nginx exporter',
      commands: [run('systemctl', 'restart', 'prometheus-nginx-exporter.service')],
    },
  },
};
