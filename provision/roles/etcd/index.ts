import type { Host } from '../../inventories/schema.js';
import { packages } from '../../operations/apt.js';
import { directory, file } from '../../operations/files.js';
import { run } from '../../operations/operation.js';
import { service } from '../../operations/systemd.js';
import { playInputs, type Play, type Role, type Task } from '../role.js';

/** The image's template (compose/etcd), rendered here into Debian's /etc/default/etcd. */
export const etcdEnvSource = new URL('../../../compose/etcd/etcd.env.template', import.meta.url);
export const etcdEnvironmentFile = '/etc/default/etcd';
const dataDir = '/var/lib/etcd/data';
/** etcd's metrics listener (ETCD_LISTEN_METRICS_URLS of the template): Prometheus' port, apart from the clients'. */
export const etcdMetricsPort = 2381;

function fail(host: Host, message: string): never {
  throw new Error(`host ${host.name}: role etcd: ${message}`);
}

/** The etcd members of the play: every host of group etcd in this host's region (the DR region has its own). */
export function etcdMembers(host: Host, play: Play): Host[] {
  const region = regionOf(host);
  return play.hosts.filter((peer) => peer.groups.includes('etcd') && regionOf(peer) === region);
}

/** The host's region (var `region`, set per host or group: the DR region's hosts say eu-central-1); '' when the inventory has one. */
export function regionOf(host: Host): string {
  const region = host.vars.region;
  if (region !== undefined && (typeof region !== 'string' || !/^[a-z0-9-]+$/.test(region)))
    fail(host, `vars.region: a region name such as eu-west-1, not ${JSON.stringify(region)}`);
  return region ?? '';
}

/** /etc/default/etcd for a member: the shared template with its name, address and peers. */
export function renderEtcdEnvironment(template: string, host: Host, play: Play): string {
  const members = etcdMembers(host, play);
  if (members.length % 2 === 0)
    fail(
      host,
      `group etcd has ${members.length} members in region ${regionOf(host) || '(none)'}: an odd number (3) keeps a quorum when one is lost`,
    );
  const values: Record<string, string> = {
    ETCD_NAME: host.name,
    ETCD_ADVERTISE_HOST: host.address,
    ETCD_INITIAL_CLUSTER: members.map((member) => `${member.name}=http://${member.address}:2380`).join(','),
    ETCD_CLUSTER_TOKEN: `refereezy-etcd-${regionOf(host) || 'default'}`,
  };
  return template.replace(
    /\$\{(\w+)\}/g,
    (whole, name: string) => values[name] ?? fail(host, `${etcdEnvSource.pathname}: unknown variable ${whole}`),
  );
}

function tasks(host: Host, play: Play): Task[] {
  const restart = ['restart etcd'];
  return [
    {
      name: 'Install etcd (server and etcdctl)',
      operation: packages({ packages: ['etcd-server', 'etcd-client'], present: true }),
    },
    {
      name: `Create etcd's data directory ${dataDir}`,
      operation: directory({ path: dataDir, owner: 'etcd', group: 'etcd', mode: '0700' }),
    },
    {
      name: `Write etcd's settings ${etcdEnvironmentFile} (the image's template)`,
      operation: file({
        path: etcdEnvironmentFile,
        content: renderEtcdEnvironment(playInputs(play).text(etcdEnvSource), host, play),
        mode: '0644',
      }),
      notify: restart,
    },
    {
      name: 'Keep etcd enabled and running',
      operation: service({ unit: 'etcd.service', enabled: true, running: true }),
    },
  ];
}

/** etcd, the DCS of the Patroni cluster: three members per region, one per zone where it can. */
export const etcd: Role = {
  name: 'etcd',
  ingress: [
    // 'patroni': security group db's Patroni nodes, which are never in inventory group db.
    { port: 2379, from: ['db', 'etcd', 'patroni'], why: 'etcd clients: Patroni on the database hosts' },
    { port: 2380, from: ['etcd'], why: 'etcd peers (raft)' },
    // Never 2379: the client API has no authentication.
    { port: etcdMetricsPort, from: ['monitoring'], why: "etcd's metrics listener, for Prometheus" },
  ],
  // The image's template, read before planning.
  inputs: () => ({ files: [etcdEnvSource] }),
  tasks,
  handlers: {
    // One member at a time is safe (a quorum remains); a changed ETCD_INITIAL_* applies to a new member only.
    'restart etcd': { name: 'restart etcd', commands: [run('systemctl', 'restart', 'etcd.service')] },
  },
};
