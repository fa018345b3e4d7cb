import { isIP } from 'node:net';
import { z } from 'zod';
import type { Host } from '../../inventories/schema.js';
import { packages } from '../../operations/apt.js';
import { command } from '../../operations/command.js';
import { directory, file } from '../../operations/files.js';
import { nftables, renderRuleset } from '../../operations/nftables.js';
import { run } from '../../operations/operation.js';
import { sysctl } from '../../operations/sysctl.js';
import { service } from '../../operations/systemd.js';
import { group, user } from '../../operations/users.js';
import { authorizedKeys } from '../../validation/keys.js';
import { address, ipAddress, loginName } from '../../validation/validators.js';
import {
  addresses,
  endpoint,
  playRoles,
  type EgressRule,
  type IngressRule,
  playInputs,
  type Play,
  type Role,
  type Task,
} from '../role.js';
import { roleVars } from '../vars.js';
import { autoUpgradesSource, sshdConfigSource, sysctlHardeningSource, unattendedUpgradesSource } from './files.js';
import { firewallRuleset, firewallTable } from './firewall.js';
import { supportedRelease } from './release.js';
import { sshdConfig, sshdForwarding } from './sshd.js';

export { sshdConfigSource };

const vars = z.object({
  admin_user: loginName.default('admin'),
  admin_authorized_keys: authorizedKeys,
  /**
   * An HTTP proxy apt fetches through (http://host:port), where hosts have no route to the mirror;
   * absent where a NAT gateway gives them one (production).
   */
  apt_proxy: z
    .string()
    .regex(/^http:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/, 'an http://host:port URL')
    .optional(),
  /** NTP servers chrony prefers. Default: the Amazon Time Sync Service, at the same link-local address on every EC2 instance. */
  time_servers: z.array(address).min(1).default(['169.254.169.123']),
  /**
   * The DNS resolvers hosts may ask (the firewall's egress): on EC2 the VPC's (its network + 2, e.g.
   * 10.0.0.2) and 169.254.169.253. Absent: port 53 to anywhere.
   */
  dns_servers: z.array(ipAddress).min(1).optional(),
});

/** The path sshd_config reads its host key from: the host's own key is kept there. */
const hostKey = '/etc/ssh/host_keys/ssh_host_ed25519_key';
const aptProxyFile = '/etc/apt/apt.conf.d/01refereezy-proxy';
const chronySources = '/etc/chrony/sources.d/refereezy.sources';

/** What the common role serves on every host. The bastion's own role opens 22 to the world. */
const ingress: IngressRule[] = [
  { port: 22, from: ['bastion'], why: 'SSH, from the bastion only' },
  { port: 9100, from: ['monitoring'], why: 'node_exporter, for Prometheus on the monitoring hosts', scrape: 'node' },
];

/**
 * What every host may open beyond its peers: the apt mirror (through the proxy where there is one),
 * DNS, NTP, the instance metadata service and DHCP. Everything else a role names itself.
 */
function egress(host: Host): EgressRule[] {
  const {
    apt_proxy: proxy,
    dns_servers: dns,
    time_servers: timeServers,
  } = roleVars(vars.pick({ apt_proxy: true, dns_servers: true, time_servers: true }), host, 'common');
  const proxyUrl = proxy === undefined ? undefined : new URL(proxy);
  return [
    ...(proxyUrl === undefined
      ? // Without a proxy the mirrors (and the security archive) are reached directly: their addresses are a CDN's.
        [80, 443].map((port): EgressRule => ({
          port,
          to: 'anywhere',
          why: `apt straight to the Debian mirrors (no apt_proxy), port ${port}`,
        }))
      : [
          {
            port: Number(proxyUrl.port || '80'),
            to: endpoint(proxyUrl.hostname),
            why: 'apt through the apt proxy (var apt_proxy)',
          },
        ]),
    ...(['udp', 'tcp'] as const).map((protocol): EgressRule => ({
      port: 53,
      protocol,
      to: dns === undefined ? 'anywhere' : addresses(...dns),
      why: `DNS (var dns_servers), ${protocol}`,
    })),
    // A name among the servers (a pool) may resolve anywhere.
    {
      port: 123,
      protocol: 'udp',
      to: timeServers.some((server) => isIP(server) === 0) ? 'anywhere' : addresses(...timeServers),
      why: 'NTP for chrony (var time_servers)',
    },
    // cloud-init reads it at every boot; the AWS SDK (the SMS notifier's SNS) takes the instance role's credentials from it.
    { port: 80, to: addresses('169.254.169.254'), why: 'the EC2 instance metadata service' },
    { port: 67, protocol: 'udp', to: 'anywhere', why: 'DHCP lease renewals' },
  ];
}

function aptProxyTask(proxy: string | undefined): Task {
  if (proxy === undefined) {
    return {
      name: 'Fetch packages directly (no apt proxy)',
      operation: command({
        argv: ['rm', '-f', '--', aptProxyFile],
        unless: ['sh', '-c', '! [ -e "$1" ]', 'sh', aptProxyFile],
      }),
    };
  }
  return {
    name: `Fetch packages through the apt proxy ${proxy}`,
    operation: file({
      path: aptProxyFile,
      // Retries: a proxy answers 503 when the mirror closes a connection mid-download; apt gives up
      // on the whole install at the first such file otherwise.
      content: `// The hosts' way to the Debian mirror (provisioning common role, var apt_proxy).\nAcquire::http::Proxy "${proxy}";\nAcquire::Retries "5";\n`,
      mode: '0644',
    }),
  };
}

function tasks(host: Host, play: Play): Task[] {
  const {
    admin_user: admin,
    admin_authorized_keys: keys,
    apt_proxy: proxy,
    time_servers: timeServers,
  } = roleVars(vars, host, 'common');
  const home = `/home/${admin}`;
  const rolesOf = playRoles(play);
  const ruleset = renderRuleset(firewallRuleset(host, play, rolesOf(host)));
  const forwarding = sshdForwarding(host, play, rolesOf);
  const read = playInputs(play);
  return [
    // First: a release the roles were not written for fails here, before anything changes.
    { name: 'Check that the host runs a supported Debian release', operation: supportedRelease },
    aptProxyTask(proxy),
    { name: 'Install OpenSSH and sudo', operation: packages({ packages: ['openssh-server', 'sudo'], present: true }) },
    {
      name: 'Create the ssh-users group (sshd admits only its members)',
      operation: group({ name: 'ssh-users', system: true }),
    },
    { name: `Create the admin user ${admin} in ssh-users`, operation: user({ name: admin, groups: ['ssh-users'] }) },
    {
      name: `Let ${admin} use sudo without a password`,
      // visudo checks it before it replaces the old one: a sudoers file sudo cannot parse locks every admin out.
      operation: file({
        path: '/etc/sudoers.d/90-refereezy-admins',
        content: `${admin} ALL=(ALL) NOPASSWD:ALL\n`,
        mode: '0440',
        validate: 'visudo -cf %s',
      }),
    },
    {
      name: `Create ${home}/.ssh`,
      operation: directory({ path: `${home}/.ssh`, owner: admin, group: admin, mode: '0700' }),
    },
    {
      name: `Authorize the operators' keys for ${admin}`,
      operation: file({
        path: `${home}/.ssh/authorized_keys`,
        content: `${keys.join('\n')}\n`,
        owner: admin,
        group: admin,
        mode: '0600',
      }),
    },
    {
      name: 'Create the host key directory sshd_config names',
      operation: directory({ path: '/etc/ssh/host_keys', mode: '0755' }),
    },
    {
      name: "Keep the host's own ed25519 key where sshd_config reads it",
      // The host keeps its identity (its known_hosts entry stays valid) across the new sshd_config.
      operation: command({
        argv: ['install', '-m', '0600', '--', '/etc/ssh/ssh_host_ed25519_key', hostKey],
        unless: ['test', '-s', hostKey],
      }),
    },
    {
      name: `Render sshd_config (keys only, no root, hardened algorithms, ${forwarding.tcpForwarding === 'no' ? 'no forwarding' : "forwarding to the bastion's destinations only"}), checked by sshd -t first`,
      operation: sshdConfig(read.text(sshdConfigSource), forwarding),
      notify: ['reload sshd'],
    },
    {
      name: 'Keep sshd enabled and running',
      operation: service({ unit: 'ssh.service', enabled: true, running: true }),
    },
    {
      name: 'Install the baseline: nftables, chrony, unattended-upgrades, node_exporter, procps',
      operation: packages({
        packages: ['nftables', 'chrony', 'unattended-upgrades', 'prometheus-node-exporter', 'procps'],
        present: true,
      }),
    },
    {
      name: 'Refresh the package lists and run unattended-upgrade daily',
      operation: file({
        path: '/etc/apt/apt.conf.d/20auto-upgrades',
        content: read.text(autoUpgradesSource),
        mode: '0644',
      }),
    },
    {
      name: 'Let unattended-upgrade install security updates only',
      operation: file({
        path: '/etc/apt/apt.conf.d/52refereezy-unattended-upgrades',
        content: read.text(unattendedUpgradesSource),
        mode: '0644',
      }),
    },
    {
      name: "Keep apt's daily list refresh scheduled",
      operation: service({ unit: 'apt-daily.timer', enabled: true, running: true }),
    },
    {
      name: "Keep apt's daily upgrade scheduled",
      operation: service({ unit: 'apt-daily-upgrade.timer', enabled: true, running: true }),
    },
    {
      name: `Sync the clock with ${timeServers.join(', ')}`,
      operation: file({
        path: chronySources,
        content: `# NTP servers (provisioning common role, var time_servers); Debian's pool stays as a fallback.\n${timeServers.map((server) => `server ${server} iburst`).join('\n')}\n`,
        mode: '0644',
      }),
      notify: ['restart chrony'],
    },
    // Skipped by its ConditionCapability=CAP_SYS_TIME where the clock is not the host's to set (a container).
    {
      name: 'Keep chrony enabled and running',
      operation: service({ unit: 'chrony.service', enabled: true, running: true }),
    },
    {
      name: 'Keep node_exporter enabled and running',
      operation: service({ unit: 'prometheus-node-exporter.service', enabled: true, running: true }),
    },
    {
      name: 'Harden the network stack (sysctl)',
      operation: sysctl({
        path: '/etc/sysctl.d/60-refereezy-hardening.conf',
        content: read.text(sysctlHardeningSource),
      }),
    },
    {
      name: "Render the firewall: drop inbound but the host's roles' ingress rules",
      operation: nftables({ path: '/etc/nftables.conf', table: firewallTable, content: ruleset }),
      notify: ['reload nftables'],
    },
    {
      name: 'Keep nftables enabled and its ruleset loaded',
      operation: service({ unit: 'nftables.service', enabled: true, running: true }),
    },
  ];
}

/**
 * Every host: the admin user and its keys, SSH hardened with the bastion's sshd_config, apt (through
 * the proxy where there is one) with security updates applied daily, a synchronised clock,
 * node_exporter, kernel network hardening, and a firewall built from the host's roles' ingress rules.
 */
export const common: Role = {
  name: 'common',
  ingress,
  egress,
  // Its files and the one sshd_config, read before planning.
  inputs: () => ({ files: [sshdConfigSource, autoUpgradesSource, unattendedUpgradesSource, sysctlHardeningSource] }),
  tasks,
  handlers: {
    // Checked before the reload: a config sshd rejects never replaces the running one.
    'reload sshd': { name: 'reload sshd', commands: [run('sshd', '-t'), run('systemctl', 'reload', 'ssh.service')] },
    // Only where chrony runs (not where its start condition is unmet).
    'restart chrony': { name: 'restart chrony', commands: [run('systemctl', 'try-restart', 'chrony.service')] },
    // The file was checked by nft -c before it was installed; reload replaces the table atomically.
    'reload nftables': {
      name: 'reload nftables',
      commands: [run('systemctl', 'reload-or-restart', 'nftables.service')],
    },
  },
};
