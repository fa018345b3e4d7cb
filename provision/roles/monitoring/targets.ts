import { stringify } from 'yaml';
import type { Host } from '../../inventories/schema.js';
import { api } from '../api/index.js';
import { common } from '../common/index.js';
import { db } from '../db/index.js';
import type { Role } from '../role.js';
import { web } from '../web/index.js';
import { etcdMetricsPort, regionOf } from '../etcd/index.js';
import { clusterOf, patroniRestPort } from '../patroni/index.js';

/**
 * The jobs of compose/prometheus/prometheus.yml.template, each reading its targets from
 * targets/<job>.yml (file_sd): the replica's files are compose/prometheus/targets/, production's are
 * rendered here from the inventory.
 */
export const jobs = [
  'prometheus',
  'alertmanager',
  'api',
  'node',
  'postgres',
  'lb',
  'web',
  'sms-notifier',
  'blackbox-exporter',
  'blackbox-http',
  'blackbox-ssh',
  'waf',
  'patroni',
  'etcd',
] as const;
export type Job = (typeof jobs)[number];

/**
 * The HA database's jobs: the replica image renders their targets from PROMETHEUS_HA_TARGETS at
 * start (the clusters docker-compose.ha.yml runs), not from a file of compose/prometheus/targets/.
 */
export const haJobs = ['patroni', 'etcd'] as const satisfies readonly Job[];

/** One target group of a file_sd file. */
export interface TargetGroup {
  targets: string[];
  labels?: Record<string, string>;
}

/** The port of the role's ingress rule that `job` scrapes: one source for the firewall and the scrape target. */
export function scrapedPort(role: Pick<Role, 'name' | 'ingress'>, job: Job): number {
  const rules = (role.ingress ?? []).filter((rule) => rule.scrape === job);
  const [rule] = rules;
  if (rule === undefined || rules.length > 1)
    throw new Error(`role ${role.name}: ${rules.length} ingress rules say scrape: '${job}' (one is needed)`);
  return rule.port;
}

/** The exporters' ports, from the owning roles' ingress: every host runs node_exporter, each group its own. */
export const exporterPorts = {
  node: scrapedPort(common, 'node'),
  api: scrapedPort(api, 'api'),
  postgres: scrapedPort(db, 'postgres'),
  // HAProxy's stats: no role of this repo owns the load balancer (the replica's lb; an ALB in production).
  lb: 8404,
  web: scrapedPort(web, 'web'),
  waf: scrapedPort(web, 'waf'),
} as const;

/** Jobs scraped on every host of a group. */
const groupJobs = [
  { job: 'api', group: 'api' },
  { job: 'postgres', group: 'db' },
  { job: 'lb', group: 'lb' },
  { job: 'web', group: 'web' },
  // The WAF's counter of blocked requests, served by nginx itself (compose/web/modsecurity/00-waf.conf).
  { job: 'waf', group: 'web' },
] as const;

/** The monitoring host's own services, scraped over loopback (the blackbox exporter listens nowhere else). */
export const localPorts = {
  prometheus: 9090,
  alertmanager: 9093,
  'sms-notifier': 9095,
  'blackbox-exporter': 9115,
} as const;

export interface TargetOptions {
  /** URLs the blackbox exporter fetches, as users reach them (the CDN's public URL). */
  probeUrls: readonly string[];
}

const hostPort = (address: string, port: number) =>
  address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;

const withCluster = (group: TargetGroup, cluster: string): TargetGroup => ({
  ...group,
  labels: { ...group.labels, cluster },
});

/** The Patroni cluster whose state an etcd member holds: that of the Patroni nodes of its region (refereezy if none). */
function etcdCluster(member: Host, hosts: readonly Host[]): string {
  const node = hosts.find((host) => host.groups.includes('patroni') && regionOf(host) === regionOf(member));
  return node === undefined ? 'refereezy' : clusterOf(node);
}

/**
 * What the Prometheus of `self` scrapes, job by job, from every host of the inventory. Each host is
 * its own target group with `instance` = "<host name>:<port>", so alerts name web1, not 10.0.1.10.
 */
export function scrapeTargets(self: Host, hosts: readonly Host[], options: TargetOptions): Record<Job, TargetGroup[]> {
  const on = (host: Host, port: number): TargetGroup => ({
    targets: [hostPort(host.address, port)],
    labels: { instance: `${host.name}:${port}` },
  });
  const local = (port: number): TargetGroup[] => [
    { targets: [`127.0.0.1:${port}`], labels: { instance: `${self.name}:${port}` } },
  ];
  const inGroup = (group: string) => hosts.filter((host) => host.groups.includes(group));
  const bastions = inGroup('bastion');
  const byGroup = Object.fromEntries(
    groupJobs.map(({ job, group }) => [job, inGroup(group).map((host) => on(host, exporterPorts[job]))]),
  ) as Record<(typeof groupJobs)[number]['job'], TargetGroup[]>;
  return {
    prometheus: local(localPorts.prometheus),
    alertmanager: local(localPorts.alertmanager),
    ...byGroup,
    node: hosts.map((host) => on(host, exporterPorts.node)),
    'sms-notifier': local(localPorts['sms-notifier']),
    'blackbox-exporter': local(localPorts['blackbox-exporter']),
    // Probes: `instance` becomes the probed target (prometheus.yml's relabelling).
    'blackbox-http': options.probeUrls.length === 0 ? [] : [{ targets: [...options.probeUrls] }],
    'blackbox-ssh': bastions.length === 0 ? [] : [{ targets: bastions.map((host) => hostPort(host.address, 22)) }],
    // Labelled with their Patroni cluster (as the replica's), so the alerts judge one cluster at a time.
    patroni: inGroup('patroni').map((host) => withCluster(on(host, patroniRestPort), clusterOf(host))),
    etcd: inGroup('etcd').map((host) => withCluster(on(host, etcdMetricsPort), etcdCluster(host, hosts))),
  };
}

/** A file_sd file: YAML, with a header saying where it comes from. */
export function targetFile(job: Job, groups: readonly TargetGroup[]): string {
  return [
    `# Prometheus job ${job}: rendered from the inventory by the provisioning role monitoring (the`,
    `# replica's is compose/prometheus/targets/${job}.yml). Prometheus re-reads it when it changes.`,
    stringify(groups),
  ].join('\n');
}
