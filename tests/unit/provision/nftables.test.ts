// The firewall: ingress rules resolved to addresses, rendered as an nftables ruleset, and planned.
// The common role can be loaded on its own: the registry it asks for a host's roles is read lazily.
import { playOf, roleRegistry } from '../../../provision/roles/index.js';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { commandLine } from '../../../provision/core/shell.js';
import type { NftablesFact } from '../../../provision/facts/nftables.js';
import { nftablesFact } from '../../../provision/facts/nftables.js';
import type { Host } from '../../../provision/inventories/schema.js';
import { planNftables, renderRuleset, type FirewallRule } from '../../../provision/operations/nftables.js';
import { firewallRuleset } from '../../../provision/roles/common/firewall.js';
import { writeLine } from './plan-table.js';
import type { Play, Role } from '../../../provision/roles/role.js';
import { common } from '../../../provision/roles/common/index.js';
import { roleInputs } from '../../support/role-inputs.js';

const commonInputs = await roleInputs(common, [{ name: 'any', address: '10.0.0.1', port: 22, groups: [], vars: {} }]);

/** The rule lines of a rendered ruleset's input chain (after the fixed ones). */
function ruleLinesOf(rules: FirewallRule[]): string[] {
  const text = renderRuleset({ table: 'refereezy', title: 'test', rules });
  const input = text.slice(text.indexOf('chain input {'), text.indexOf('\t}'));
  return input
    .split('\n')
    .slice(6)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

describe('nftables ruleset rendering', () => {
  const rows: { when: string; rules: FirewallRule[]; lines: string[] }[] = [
    {
      when: 'a port is open to anywhere',
      rules: [{ port: 22, protocol: 'tcp', from: 'anywhere', comment: 'bastion: SSH' }],
      lines: ['tcp dport 22 accept comment "bastion: SSH"'],
    },
    {
      when: 'one source',
      rules: [{ port: 22, protocol: 'tcp', from: ['10.0.0.5'], comment: 'common: SSH' }],
      lines: ['ip saddr 10.0.0.5 tcp dport 22 accept comment "common: SSH"'],
    },
    {
      when: 'several sources, one twice',
      rules: [
        { port: 5432, protocol: 'tcp', from: ['10.0.2.10', '10.0.2.11', '10.0.2.10'], comment: 'db: PostgreSQL' },
      ],
      lines: ['ip saddr { 10.0.2.10, 10.0.2.11 } tcp dport 5432 accept comment "db: PostgreSQL"'],
    },
    {
      when: 'IPv4 and IPv6 sources',
      rules: [{ port: 9100, protocol: 'tcp', from: ['10.0.4.10', 'fd00::10'], comment: 'common: node_exporter' }],
      lines: [
        'ip saddr 10.0.4.10 tcp dport 9100 accept comment "common: node_exporter"',
        'ip6 saddr fd00::10 tcp dport 9100 accept comment "common: node_exporter"',
      ],
    },
    {
      when: 'a UDP port',
      rules: [{ port: 123, protocol: 'udp', from: ['10.0.0.1'], comment: 'ntp' }],
      lines: ['ip saddr 10.0.0.1 udp dport 123 accept comment "ntp"'],
    },
    {
      when: 'a group with no host',
      rules: [{ port: 9100, protocol: 'tcp', from: [], comment: 'common: node_exporter' }],
      lines: ['# tcp dport 9100: no host to admit (common: node_exporter)'],
    },
    {
      when: 'a comment with quotes and more than 128 bytes',
      rules: [{ port: 80, protocol: 'tcp', from: 'anywhere', comment: `web: "HTTP" ${'é'.repeat(100)}` }],
      lines: [`tcp dport 80 accept comment "web: 'HTTP' ${'é'.repeat(56)}…"`],
    },
  ];
  for (const row of rows) {
    it(`when ${row.when}, then ${row.lines.join(' / ')}`, () => {
      assert.deepEqual(ruleLinesOf(row.rules), row.lines);
    });
  }

  it('when rendered, then inbound is dropped but replies, loopback and ICMP, nothing is forwarded, and only its own table is replaced', () => {
    const text = renderRuleset({ table: 'refereezy', title: 'The firewall of web1', rules: [] });
    assert.equal(
      text,
      [
        '#!/usr/sbin/nft -f',
        '# The firewall of web1',
        '# Only the table inet refereezy is managed: `nft -f` replaces it, and no other table, atomically.',
        'table inet refereezy',
        'delete table inet refereezy',
        '',
        'table inet refereezy {',
        '\tchain input {',
        '\t\ttype filter hook input priority filter; policy drop;',
        '\t\tct state established,related accept comment "replies to connections this host opened"',
        '\t\tct state invalid drop comment "packets no connection explains"',
        '\t\tiif "lo" accept comment "loopback"',
        '\t\tmeta l4proto { icmp, ipv6-icmp } accept comment "ICMP: ping, path MTU discovery, IPv6 neighbour discovery"',
        '\t}',
        '',
        '\tchain forward {',
        '\t\ttype filter hook forward priority filter; policy drop; comment "a host is not a router"',
        '\t}',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('when a source is a DNS name or the port is not one, then rendering fails naming it', () => {
    assert.throws(
      () =>
        renderRuleset({
          table: 'refereezy',
          title: '',
          rules: [{ port: 22, protocol: 'tcp', from: ['bastion.example'], comment: '' }],
        }),
      /tcp\/22: the ruleset takes IP addresses and networks only, not bastion\.example/,
    );
    assert.throws(
      () =>
        renderRuleset({
          table: 'refereezy',
          title: '',
          rules: [{ port: 0, protocol: 'tcp', from: 'anywhere', comment: '' }],
        }),
      /port 0 is not a port number/,
    );
    assert.throws(
      () => renderRuleset({ table: 'x; flush ruleset', title: '', rules: [] }),
      /not an nftables table name/,
    );
  });
});

describe("a host's firewall from its roles' ingress rules", () => {
  const host = (name: string, address: string, groups: string[]): Host => ({
    name,
    address,
    port: 22,
    groups,
    vars: {},
  });
  const bastion = host('bastion', '10.0.0.5', ['bastion']);
  const web1: Host = {
    ...host('web1', '10.0.1.10', ['web']),
    vars: { load_balancer_cidrs: ['10.0.10.0/24', '10.0.11.0/24'] },
  };
  const lb1 = host('lb1', '10.0.10.5', ['edge']);
  const api1 = host('api1', '10.0.2.10', ['api']);
  const api2 = host('api2', '10.0.2.11', ['api']);
  // db_backups: false: no S3 egress in these rulesets (roles-db-backups.test.ts covers it).
  const db1: Host = { ...host('db1', '10.0.3.10', ['db']), vars: { db_backups: false } };
  const mon1 = host('mon1', '10.0.4.10', ['monitoring']);
  const play: Play = playOf([bastion, web1, api1, api2, db1, mon1], {
    host: 'bastion.example',
    port: 22,
    user: 'ops',
    private_address: '10.0.0.5',
  });
  const of = (...names: string[]): Role[] =>
    names.map((name) => roleRegistry()[name] ?? assert.fail(`no role ${name}`));
  const rules = (target: Host, hostRoles: Role[], inPlay: Play = play) =>
    firewallRuleset(target, inPlay, hostRoles).rules.map(
      (rule) =>
        `${rule.protocol}/${rule.port} ${rule.from === 'anywhere' ? 'anywhere' : rule.from.join(',') || '(none)'} ${rule.comment}`,
    );

  it('when a host has the common role only, then SSH comes from the bastion and node_exporter from the monitoring hosts', () => {
    assert.deepEqual(rules(web1, of('common')), [
      'tcp/22 10.0.0.5 common: SSH, from the bastion only',
      'tcp/9100 10.0.4.10 common: node_exporter, for Prometheus on the monitoring hosts',
    ]);
  });

  it('when the host is the bastion, then its role opens SSH to anywhere as well', () => {
    assert.ok(rules(bastion, of('common', 'bastion')).some((rule) => rule.startsWith('tcp/22 anywhere bastion: ')));
  });

  it('when the host is a db, then PostgreSQL is open to every api host (and security group db: the database hosts)', () => {
    assert.ok(
      rules(db1, of('common', 'db')).includes(
        'tcp/5432 10.0.2.10,10.0.2.11,10.0.3.10 db: PostgreSQL for the API; streaming replication and pg_rewind between the Patroni nodes',
      ),
    );
  });

  it('when no host is in a named group, then the rule admits nobody', () => {
    assert.deepEqual(
      rules(web1, of('common'), { ...play, hosts: [bastion, web1] })[1],
      'tcp/9100 (none) common: node_exporter, for Prometheus on the monitoring hosts',
    );
  });

  it('when the inventory has no bastion.private_address and no host in group bastion, then the host is refused before anything connects', () => {
    const withoutBastion = play.hosts.filter((candidate) => candidate !== bastion);
    assert.throws(
      () => rules(web1, of('common'), playOf(withoutBastion, { host: 'bastion.example', port: 22, user: 'ops' })),
      /host web1: role common: port 22 admits the bastion, but the inventory has no bastion\.private_address/,
    );
  });

  it('when the inventory has no bastion.private_address, then it is the address of the host in group bastion', () => {
    assert.deepEqual(
      rules(web1, of('common'), playOf(play.hosts, { host: 'bastion.example', port: 22, user: 'ops' }))[0],
      'tcp/22 10.0.0.5 common: SSH, from the bastion only',
    );
  });

  const egress = (target: Host, hostRoles: Role[]) =>
    (firewallRuleset(target, play, hostRoles).egress ?? []).map(
      (rule) =>
        `${rule.protocol}/${rule.port} ${rule.to === 'anywhere' ? 'anywhere' : rule.to.join(',') || '(none)'} ${rule.comment}`,
    );
  const allOf = (target: Host) => of(...['common', ...target.groups.filter((group) => group in roleRegistry())]);

  it('when a web host is planned, then it may open the API on the api hosts, its resolver, and the baseline (apt, DNS, NTP, metadata, DHCP); not PostgreSQL', () => {
    assert.deepEqual(egress(web1, allOf(web1)), [
      'tcp/3000 10.0.2.10,10.0.2.11 api on api1, api2: the API, behind the web tier',
      'tcp/80 anywhere common: apt straight to the Debian mirrors (no apt_proxy), port 80',
      'tcp/443 anywhere common: apt straight to the Debian mirrors (no apt_proxy), port 443',
      'udp/53 anywhere common: DNS (var dns_servers), udp',
      'tcp/53 anywhere common: DNS (var dns_servers), tcp',
      'udp/123 169.254.169.123 common: NTP for chrony (var time_servers)',
      'tcp/80 169.254.169.254 common: the EC2 instance metadata service',
      'udp/67 anywhere common: DHCP lease renewals',
      "udp/53 169.254.169.253 web: nginx's resolver for api_host (var dns_resolver), udp",
      "tcp/53 169.254.169.253 web: nginx's resolver for api_host (var dns_resolver), tcp",
    ]);
  });

  it("when an api host is planned, then it may open PostgreSQL and Patroni's REST API on the db host and Google over HTTPS, and no other host of the inventory", () => {
    const peers = egress(api1, allOf(api1)).filter((rule) => !rule.includes(' common: '));
    assert.deepEqual(peers, [
      'tcp/5432 10.0.3.10 db on db1: PostgreSQL for the API; streaming replication and pg_rewind between the Patroni nodes',
      "tcp/8008 10.0.3.10 db on db1: Patroni's REST API: the API-side HAProxy's /primary checks, the peers' member checks, Prometheus' /metrics",
      'tcp/443 anywhere api: Firebase Auth and Firestore (Google APIs, no fixed addresses)',
    ]);
  });

  it('when the bastion and the monitoring host are planned, then the bastion reaches every host’s SSH and the UIs, monitoring every exporter and the bastion’s SSH', () => {
    const bastionEgress = egress(bastion, allOf(bastion));
    assert.ok(
      bastionEgress.includes(
        'tcp/22 10.0.1.10,10.0.2.10,10.0.2.11,10.0.3.10,10.0.4.10 common on web1, api1, api2, db1, mon1: SSH, from the bastion only',
      ),
      bastionEgress.join('\n'),
    );
    assert.ok(bastionEgress.some((rule) => rule.startsWith('tcp/9090 10.0.4.10 monitoring on mon1')));
    const monitoringEgress = egress(mon1, allOf(mon1));
    for (const expected of [
      'tcp/9100 10.0.0.5,10.0.1.10,10.0.2.10,10.0.2.11,10.0.3.10 ',
      'tcp/9464 10.0.2.10,10.0.2.11 ',
      'tcp/9187 10.0.3.10 ',
      'tcp/9113 10.0.1.10 ',
      'tcp/22 10.0.0.5 monitoring: the blackbox SSH probe',
    ]) {
      assert.ok(
        monitoringEgress.some((rule) => rule.startsWith(expected)),
        `${expected}\n${monitoringEgress.join('\n')}`,
      );
    }
  });

  it('when a host sits in the load balancer’s subnet or group edge, then it may open HTTP on the web hosts, which admit it; others may not', () => {
    const inPlay: Play = { ...play, hosts: [...play.hosts, lb1] };
    assert.deepEqual(
      firewallRuleset(web1, inPlay, of('common', 'web'))
        .rules.filter((rule) => rule.port === 80)
        .map((rule) => rule.from),
      [['10.0.10.0/24', '10.0.11.0/24', '10.0.10.5']],
    );
    const lbEgress = (firewallRuleset(lb1, inPlay, of('common')).egress ?? []).filter(
      (rule) => rule.port === 80 && rule.to !== 'anywhere' && rule.to.includes('10.0.1.10'),
    );
    assert.equal(lbEgress.length, 1);
    assert.ok(
      !(firewallRuleset(api1, inPlay, of('common', 'api')).egress ?? []).some(
        (rule) => rule.port === 80 && rule.to !== 'anywhere' && rule.to.includes('10.0.1.10'),
      ),
    );
  });

  it('when a peer’s inventory address is a name, then it is not reached (nftables matches addresses), and the comment says so', () => {
    const ghost = host('ghost', 'ghost.invalid', ['ec2']);
    const rules = (
      firewallRuleset(bastion, { ...play, hosts: [bastion, ghost] }, of('common', 'bastion')).egress ?? []
    ).filter((rule) => rule.port === 22);
    assert.deepEqual(
      rules.map((rule) => [rule.to, rule.comment]),
      [[[], 'common on ghost (not ghost.invalid: a name, not an address): SSH, from the bastion only']],
    );
    assert.match(
      renderRuleset({ table: 'refereezy', title: '', rules: [], egress: rules }),
      /# tcp dport 22: no host to reach \(common on ghost/,
    );
  });

  it('when an apt proxy, DNS servers and time servers are set, then the baseline egress names exactly them', () => {
    const configured: Host = {
      ...db1,
      vars: { apt_proxy: 'http://10.0.0.20:3142', dns_servers: ['10.0.0.2'], time_servers: ['169.254.169.123'] },
    };
    const baseline = egress(configured, of('common')).filter((rule) => rule.includes(' common: '));
    assert.deepEqual(baseline.slice(0, 4), [
      'tcp/3142 10.0.0.20 common: apt through the apt proxy (var apt_proxy)',
      'udp/53 10.0.0.2 common: DNS (var dns_servers), udp',
      'tcp/53 10.0.0.2 common: DNS (var dns_servers), tcp',
      'udp/123 169.254.169.123 common: NTP for chrony (var time_servers)',
    ]);
  });

  it('when egress rules are rendered, then outbound is refused but established, loopback, ICMP and the rules, counted', () => {
    const text = renderRuleset({
      table: 'refereezy',
      title: 't',
      rules: [],
      egress: [
        { port: 5432, protocol: 'tcp', to: ['10.0.3.10'], comment: 'db' },
        { port: 443, protocol: 'tcp', to: 'anywhere', comment: 'google' },
        { port: 53, protocol: 'udp', to: ['fd00::2', '10.0.0.0/16'], comment: 'dns' },
      ],
    });
    const output = text.slice(text.indexOf('chain output {'));
    assert.match(
      output,
      /type filter hook output priority filter; policy drop;\n\t\tct state established,related accept/,
    );
    assert.match(output, /\t\toif "lo" accept/);
    assert.match(
      output,
      /\t\tip daddr 10\.0\.3\.10 tcp dport 5432 accept comment "db"\n\t\ttcp dport 443 accept comment "google"\n\t\tip daddr 10\.0\.0\.0\/16 udp dport 53 accept comment "dns"\n\t\tip6 daddr fd00::2 udp dport 53 accept comment "dns"\n\t\tcounter reject with icmpx type admin-prohibited comment "refused: no egress rule allows it"\n\t}\n}\n$/,
    );
    assert.throws(
      () =>
        renderRuleset({
          table: 'refereezy',
          title: '',
          rules: [],
          egress: [{ port: 53, protocol: 'udp', to: ['10.0.0.0/33'], comment: '' }],
        }),
      /not 10\.0\.0\.0\/33/,
    );
  });

  it('when the common role plans a host, then the ruleset it installs is rendered from every role of the host, --tags or not', () => {
    const task = roleRegistry()
      .common?.tasks(
        {
          ...db1,
          vars: {
            ...db1.vars,
            admin_authorized_keys: [
              'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK4bB3JqU0l8cZr2Q8kq0m9o5vR0yZ2b1x3n5d7f9h1j ops',
            ],
          },
        },
        { ...play, inputs: commonInputs },
      )
      .find((candidate) => candidate.name.startsWith('Render the firewall'));
    assert.ok(task);
    const plan = task.operation.plan({ file: null, loaded: false });
    assert.match(
      plan.diff ?? '',
      /^\+\t\tip saddr \{ 10\.0\.2\.10, 10\.0\.2\.11, 10\.0\.3\.10 \} tcp dport 5432 accept comment "db: PostgreSQL for the API; streaming replication and pg_rewind between the Patroni nodes"$/m,
    );
    assert.match(plan.diff ?? '', /^\+# The firewall of db1 \(common, db\)/m);
  });
});

describe('nftables operation', () => {
  const content = renderRuleset({ table: 'refereezy', title: 'test', rules: [] });
  const desired = { path: '/etc/nftables.conf', table: 'refereezy', content };
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  const installed = (text: string, extra: Partial<NonNullable<NftablesFact['file']>> = {}): NftablesFact['file'] => ({
    type: 'regular file',
    owner: 'root',
    group: 'root',
    mode: 0o755,
    size: text.length,
    sha256: sha(text),
    content: text,
    ...extra,
  });
  const lines = (fact: NftablesFact) =>
    planNftables(desired, fact).commands.map((command) => commandLine(command.argv));

  it('when the file differs, then it is written atomically, checked by nft -c on the temporary file first, in one command, its diff shown', () => {
    const plan = planNftables(desired, { file: installed('flush ruleset\n'), loaded: true });
    assert.equal(plan.changed, true);
    assert.deepEqual(lines({ file: installed('flush ruleset\n'), loaded: true }), [
      writeLine('/etc/nftables.conf', content, '0755', 'root', 'root', 'nft -c -f %s'),
    ]);
    assert.equal(plan.commands[0]?.stdin, content);
    assert.match(plan.diff ?? '', /^-flush ruleset$/m);
    assert.match(plan.reason, /update the content of \/etc\/nftables\.conf \(checked by `nft -c -f %s` first\)/);
  });

  it('when the file is absent, then it is created the same way', () => {
    const plan = planNftables(desired, { file: null, loaded: false });
    assert.match(plan.reason, /^create \/etc\/nftables\.conf/);
    assert.equal(plan.commands.length, 1);
  });

  it('when the file is right and its table loaded, then nothing is needed', () => {
    assert.deepEqual(lines({ file: installed(content), loaded: true }), []);
    assert.equal(
      planNftables(desired, { file: installed(content), loaded: true }).reason,
      '/etc/nftables.conf is up to date (root:root 0755), table inet refereezy loaded',
    );
  });

  it('when the file is right but the kernel lacks the table, then the file is loaded', () => {
    assert.deepEqual(lines({ file: installed(content), loaded: false }), ['nft -f /etc/nftables.conf']);
  });

  it('when only the mode differs, then it is fixed (and the table loaded if missing)', () => {
    assert.deepEqual(lines({ file: installed(content, { mode: 0o644 }), loaded: true }), [
      'chmod 0755 -- /etc/nftables.conf',
    ]);
    assert.deepEqual(lines({ file: installed(content, { mode: 0o644 }), loaded: false }), [
      'chmod 0755 -- /etc/nftables.conf',
      'nft -f /etc/nftables.conf',
    ]);
  });

  it('when the probe answers, then the first line says whether the table is loaded and the rest is the file', () => {
    const fact = nftablesFact('/etc/nftables.conf', 'refereezy');
    assert.deepEqual(fact.command.slice(3, 5), ['sh', 'refereezy']);
    const parsed = fact.parse({
      code: 0,
      stdout: `loaded\nregular file|root|root|755|${content.length}\n${sha(content)}\n${Buffer.from(content).toString('base64')}\n`,
      stderr: '',
    });
    assert.equal(parsed.loaded, true);
    assert.equal(parsed.file?.content, content);
    assert.deepEqual(fact.parse({ code: 0, stdout: 'absent\n', stderr: '' }), { loaded: false, file: null });
  });
});
