import { parseDocument } from 'yaml';
import { externalSources, groupRoles, ruleLabel, type SecurityGroups } from './schema.js';
import { renderTerraform, terraformRules } from './terraform.js';

/**
 * The checks that the four expressions of the security groups agree with the source: each returns
 * the disagreements, one sentence each naming the rule (or the service, network, role) at fault and
 * the file to look at; empty when they agree.
 */

/** The part of a provisioning role the check reads (provision/roles/role.ts's Role). */
export interface RoleIngress {
  name: string;
  ingress?: readonly { port: number; protocol?: 'tcp' | 'udp'; from: 'anywhere' | readonly string[]; why: string }[];
}

const roleFile = (role: string) => `provision/roles/${role}/index.ts`;

/**
 * What a group's rule becomes on the host: the inventory groups of its source groups' members (a
 * group's roles: `db` is the hosts of groups db and patroni; a group without a role, the load
 * balancer, is named as itself), or 'anywhere'.
 */
function hostSources(source: SecurityGroups, from: readonly string[]): 'anywhere' | string[] {
  const withHosts = (name: string) =>
    source.groups[name]?.role !== undefined || source.groups[name]?.host_addresses_var !== undefined;
  const inventoryGroups = (name: string) => {
    const roles = groupRoles(source.groups[name] ?? {});
    return roles.length > 0 ? roles : [name];
  };
  if (from.every(withHosts)) return [...new Set(from.flatMap(inventoryGroups))].sort();
  // The ALB, CloudFront, the operators: addresses the host cannot name; the VPC's group narrows them.
  return 'anywhere';
}

const describeFrom = (from: 'anywhere' | readonly string[]) => (from === 'anywhere' ? 'anywhere' : from.join(', '));

/** One role of a group against the group's rules: each rule a matching ingress, and nothing more. */
function checkRole(source: SecurityGroups, group: string, roleName: string, role: RoleIngress | undefined): string[] {
  if (!role) return [`security group ${group} names role ${roleName}, which provision/roles does not have`];
  const problems: string[] = [];
  const g = source.groups[group];
  const declared = new Map((role.ingress ?? []).map((rule) => [`${rule.port}/${rule.protocol ?? 'tcp'}`, rule]));
  for (const rule of g?.rules ?? []) {
    const key = `${rule.port}/${rule.protocol}`;
    const expected = hostSources(source, rule.from);
    const actual = declared.get(key);
    if (!actual) {
      problems.push(
        `${ruleLabel(group, rule)}: role ${roleName} (${roleFile(roleName)}) has no ingress for port ${key}; the host's firewall would drop what the security group admits`,
      );
      continue;
    }
    const actualFrom = actual.from === 'anywhere' ? 'anywhere' : [...actual.from].sort();
    if (JSON.stringify(actualFrom) !== JSON.stringify(expected)) {
      problems.push(
        `${ruleLabel(group, rule)}: role ${roleName} (${roleFile(roleName)}) admits port ${key} from ${describeFrom(actualFrom)}, the security group from ${describeFrom(expected)} on the host`,
      );
    }
    declared.delete(key);
  }
  for (const [key, rule] of declared) {
    problems.push(
      `role ${roleName} (${roleFile(roleName)}) opens port ${key} from ${describeFrom(rule.from)} ("${rule.why}"), which security group ${group} in security-groups/security-groups.yaml does not have`,
    );
  }
  return problems;
}

/** Every group with a role against that role's `ingress` (what the common role renders into nftables). */
export function checkRoles(source: SecurityGroups, roles: Readonly<Record<string, RoleIngress>>): string[] {
  const problems: string[] = [];
  const groupOfRole = new Map(
    Object.entries(source.groups).flatMap(([group, g]) => groupRoles(g).map((role) => [role, group] as const)),
  );
  for (const [group, g] of Object.entries(source.groups)) {
    for (const roleName of groupRoles(g)) problems.push(...checkRole(source, group, roleName, roles[roleName]));
  }
  for (const [name, role] of Object.entries(roles)) {
    if (!groupOfRole.has(name) && (role.ingress ?? []).length > 0) {
      problems.push(
        `role ${name} (${roleFile(name)}) declares ingress, but no security group in security-groups/security-groups.yaml names role ${name}`,
      );
    }
  }
  return problems;
}

interface ComposeModel {
  services?: Record<string, { networks?: string[] | Record<string, unknown> | null } | null>;
}

/**
 * Each service's networks as the compose files declare them (merge keys resolved), each file after
 * the first an overlay merged as `docker compose -f … -f …` merges it: a service's declared networks
 * add to the ones it had, and replace the default network it had by declaring none.
 */
export function composeNetworks(...composeTexts: string[]): Map<string, string[]> {
  const networks = new Map<string, string[]>();
  const implicit = new Set<string>();
  for (const composeText of composeTexts) {
    const model = parseDocument(composeText, { merge: true }).toJS({ maxAliasCount: -1 }) as ComposeModel;
    for (const [service, definition] of Object.entries(model.services ?? {})) {
      const declared = definition?.networks;
      if (declared) {
        const names = Array.isArray(declared) ? declared : Object.keys(declared);
        const before = implicit.has(service) ? [] : (networks.get(service) ?? []);
        networks.set(service, [...new Set([...before, ...names])]);
        implicit.delete(service);
      } else if (!networks.has(service)) {
        // A service with no networks: is on the project's default network.
        networks.set(service, ['default']);
        implicit.add(service);
      }
    }
  }
  return networks;
}

/**
 * The replica's networks against the rules: a rule between two groups that both have services in
 * the replica needs a network they share; two groups on one network must be listed for it
 * (replica.networks), and every service belongs to a group or an external stand-in. The compose
 * files are docker-compose.yml and its overlays (docker-compose.ha.yml), merged.
 */
export function checkCompose(source: SecurityGroups, ...composeTexts: string[]): string[] {
  const problems: string[] = [];
  const networks = composeNetworks(...composeTexts);
  const groupOf = new Map<string, string>(Object.entries(source.replica.external));
  for (const [group, g] of Object.entries(source.groups)) for (const service of g.replica) groupOf.set(service, group);

  for (const [service] of networks) {
    if (!groupOf.has(service))
      problems.push(
        `docker-compose.yml: service ${service} plays no security group: add it to a group's replica list (or replica.external) in security-groups/security-groups.yaml`,
      );
  }
  for (const [group, g] of Object.entries(source.groups)) {
    for (const service of g.replica)
      if (!networks.has(service))
        problems.push(
          `security group ${group} lists replica service ${service}, which neither docker-compose.yml nor its overlays have`,
        );
  }

  const servicesOf = (member: string) => [...networks.keys()].filter((service) => groupOf.get(service) === member);
  const networksOf = (member: string) => new Set(servicesOf(member).flatMap((service) => networks.get(service) ?? []));
  for (const [group, g] of Object.entries(source.groups)) {
    const targets = servicesOf(group);
    if (targets.length === 0) continue;
    for (const rule of g.rules) {
      for (const from of rule.from) {
        // Sources outside the replica: the operators come in through the published port, CloudFront is the cdn service.
        const sourceServices = servicesOf(from);
        if (sourceServices.length === 0) continue;
        const shared = [...networksOf(group)].filter((network) => networksOf(from).has(network));
        if (shared.length === 0) {
          problems.push(
            `${ruleLabel(group, rule)}: no network in docker-compose.yml joins ${from} (${sourceServices.join(', ')}) and ${group} (${targets.join(', ')})`,
          );
        }
      }
    }
  }

  const members = new Map<string, Set<string>>();
  for (const [service, serviceNetworks] of networks) {
    const member = groupOf.get(service);
    if (!member) continue;
    for (const network of serviceNetworks) {
      if (!members.has(network)) members.set(network, new Set());
      members.get(network)?.add(member);
    }
  }
  for (const [network, present] of members) {
    const allowed = source.replica.networks[network];
    if (!allowed) {
      problems.push(
        `docker-compose.yml: network ${network} (${[...present].join(', ')}) is not in replica.networks of security-groups/security-groups.yaml`,
      );
      continue;
    }
    for (const member of present) {
      if (!allowed.includes(member)) {
        const services = [...networks]
          .filter(([service, n]) => n.includes(network) && groupOf.get(service) === member)
          .map(([service]) => service);
        problems.push(
          `docker-compose.yml: network ${network} joins ${member} (${services.join(', ')}), which replica.networks.${network} in security-groups/security-groups.yaml does not admit (it admits ${allowed.join(', ')}): every member of a network reaches every other`,
        );
      }
    }
  }
  return problems;
}

const beginMarker = '<!-- security-groups:begin (generated by `npm run security-groups -- generate`) -->';
const endMarker = '<!-- security-groups:end -->';

/** The README's table of the production security groups (between its markers). */
export function renderReadmeTable(source: SecurityGroups): string {
  const rows = Object.entries(source.groups).flatMap(([group, g]) =>
    g.rules.map((rule) => `| ${group} | ${rule.port}/${rule.protocol} | ${rule.from.join(', ')} | ${rule.why} |`),
  );
  return [beginMarker, '| Security group | Port | From | Why |', '|---|---|---|---|', ...rows, endMarker].join('\n');
}

/** The README with its generated table replaced by the current one (for `generate`). */
export function updateReadme(source: SecurityGroups, readme: string): string {
  const begin = readme.indexOf(beginMarker);
  const end = readme.indexOf(endMarker);
  if (begin < 0 || end < begin)
    throw new Error(`README.md: the markers of the security-group table are missing (${beginMarker} … ${endMarker})`);
  return readme.slice(0, begin) + renderReadmeTable(source) + readme.slice(end + endMarker.length);
}

/** README's replica matrix ("From \ to" table): which cell stands for which group and port. */
const matrixRows: Record<string, readonly string[]> = {
  'host (127.0.0.1)': ['internet', 'operators'],
  cdn: ['cloudfront'],
  lb: ['edge'],
  'web1, web2': ['web'],
  api: ['api'],
  bastion: ['bastion'],
};

/**
 * The README: its generated table up to date, and every ✔/✘ cell of the replica's matrix agreeing
 * with the source (✔: some rule admits the row's group to the column's port; ✘: none does).
 * "(jump)" cells are SSH through the bastion: port 22 of the column's host.
 */
export function checkReadme(source: SecurityGroups, readme: string): string[] {
  const problems: string[] = [];
  const begin = readme.indexOf(beginMarker);
  const end = readme.indexOf(endMarker);
  if (begin < 0 || end < begin)
    problems.push(
      'README.md: the generated security-group table is missing (run `npm run security-groups -- generate`)',
    );
  else if (readme.slice(begin, end + endMarker.length) !== renderReadmeTable(source))
    problems.push(
      "README.md: the security-group table is not the source's (run `npm run security-groups -- generate`)",
    );

  const lines = readme.split('\n');
  const header = lines.findIndex((line) => line.startsWith('| From \\ to |'));
  if (header < 0) return [...problems, 'README.md: the replica\'s security-group matrix ("| From \\ to |") is missing'];
  const cells = (line: string) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
  const columns = cells(lines[header] ?? '')
    .slice(1)
    .map((column) => {
      const match = /^(\S+) :(\d+)$/.exec(column);
      if (!match) throw new Error(`README.md: matrix column "${column}" is not "<host> :<port>"`);
      return { host: match[1] ?? '', port: Number(match[2]) };
    });
  const groupOfColumn: Record<string, string | undefined> = {
    cdn: undefined,
    lb: 'edge',
    web: 'web',
    api: 'api',
    db: 'db',
    bastion: 'bastion',
  };
  const admits = (group: string, port: number, from: readonly string[]) => {
    const groups = [
      group,
      ...Object.entries(source.groups)
        .filter(([, g]) => g.attach === 'every-host' && group !== 'edge')
        .map(([name]) => name),
    ];
    return groups.some((target) =>
      source.groups[target]?.rules.some((rule) => rule.port === port && rule.from.some((f) => from.includes(f))),
    );
  };
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const [row = '', ...values] = cells(line);
    const from = matrixRows[row];
    if (!from) {
      problems.push(
        `README.md: matrix row "${row}" stands for no group (known: ${Object.keys(matrixRows).join('; ')})`,
      );
      continue;
    }
    values.forEach((value, index) => {
      const column = columns[index];
      if (!column || value === '') return;
      const group = groupOfColumn[column.host];
      if (group === undefined) return; // CloudFront is public by design: no security group of ours.
      const port = value.includes('(jump)') ? 22 : column.port;
      const allowed = value.startsWith('✔');
      if (!allowed && !value.startsWith('✘')) return;
      if (allowed !== admits(group, port, from)) {
        problems.push(
          `README.md: the matrix says ${row} → ${column.host} :${port} is ${allowed ? 'allowed (✔)' : 'refused (✘)'}, but security group ${group} ${allowed ? 'has no rule admitting' : 'has a rule admitting'} ${from.join(' or ')} on ${port}`,
        );
      }
    });
  }
  return problems;
}

/** The committed rules.tf.json is what the source renders; each rule that differs is named. */
export function checkTerraform(source: SecurityGroups, rendered: string): string[] {
  if (rendered === renderTerraform(source)) return [];
  const file = 'terraform/modules/security/rules.tf.json';
  const regenerate = 'run `npm run security-groups -- generate`';
  let committed: Record<string, unknown>;
  try {
    committed =
      (JSON.parse(rendered) as { locals?: { ingress_rules?: Record<string, unknown> } }).locals?.ingress_rules ?? {};
  } catch {
    return [`${file} is not JSON: ${regenerate}`];
  }
  const expected = terraformRules(source);
  const problems: string[] = [];
  for (const [key, rule] of Object.entries(committed)) {
    if (!(key in expected))
      problems.push(
        `${file}: rule ${key} (${JSON.stringify(rule)}) is not in security-groups/security-groups.yaml: ${regenerate}`,
      );
    else if (JSON.stringify(rule) !== JSON.stringify(expected[key]))
      problems.push(`${file}: rule ${key} differs from security-groups/security-groups.yaml: ${regenerate}`);
  }
  for (const key of Object.keys(expected))
    if (!(key in committed))
      problems.push(`${file}: rule ${key} of security-groups/security-groups.yaml is missing: ${regenerate}`);
  return problems.length > 0
    ? problems
    : [`${file} is not what security-groups/security-groups.yaml renders: ${regenerate}`];
}

export { externalSources };
