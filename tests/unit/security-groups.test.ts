// The one source of the security groups (security-groups/security-groups.yaml) against its four
// expressions: Terraform's rules, the roles' ingress (the hosts' nftables), the replica's networks
// and the README. Each disagreement is reported naming the rule, the role, the service or the cell.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { roleRegistry } from '../../provision/roles/index.js';
import {
  checkCompose,
  checkReadme,
  checkRoles,
  checkTerraform,
  type RoleIngress,
} from '../../security-groups/consistency.js';
import {
  loadSecurityGroups,
  parseSecurityGroups,
  SecurityGroupsError,
  sourceFile,
} from '../../security-groups/schema.js';
import { renderTerraform, renderedFile, terraformRules } from '../../security-groups/terraform.js';

const source = loadSecurityGroups();
const sourceText = readFileSync(sourceFile, 'utf8');
const compose = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8');
const composeHa = readFileSync(new URL('../../docker-compose.ha.yml', import.meta.url), 'utf8');
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the security groups’ one source', () => {
  it('when the repo is as committed, then Terraform, the roles, the replica and the README agree with it', () => {
    assert.deepEqual(checkTerraform(source, readFileSync(renderedFile, 'utf8')), []);
    assert.deepEqual(checkRoles(source, roleRegistry()), []);
    assert.deepEqual(checkCompose(source, compose, composeHa), []);
    assert.deepEqual(checkReadme(source, readme), []);
  });

  it('when a rule opens the database to the internet, then the source is refused naming the rule', () => {
    const opened = sourceText.replace('{ port: 5432, from: [api, db],', '{ port: 5432, from: [api, db, internet],');
    assert.notEqual(opened, sourceText);
    assert.throws(
      () => parseSecurityGroups(opened),
      (error: Error) => {
        assert.ok(error instanceof SecurityGroupsError);
        assert.match(
          error.message,
          /security-group rule db 5432\/tcp from api, db, internet \("PostgreSQL for the API; [^"]*"\) opens db to the internet \(0\.0\.0\.0\/0\)/,
        );
        return true;
      },
    );
  });

  it('when a rule opens the API to the internet, then the source is refused naming the rule', () => {
    const opened = sourceText.replace('{ port: 3000, from: [web],', '{ port: 3000, from: [internet],');
    assert.throws(
      () => parseSecurityGroups(opened),
      /security-group rule api 3000\/tcp from internet \("the API, behind the web tier"\) opens api to the internet/,
    );
  });

  it('when the edge admits the internet on 443, then that is allowed (the one public entry)', () => {
    const opened = sourceText.replace('{ port: 443, from: [cloudfront],', '{ port: 443, from: [internet],');
    const parsed = parseSecurityGroups(opened);
    assert.equal(terraformRules(parsed)['edge-443-tcp-from-internet']?.source_kind, 'internet');
  });

  it('when a rule names a source that is no group, then the source is refused naming it', () => {
    assert.throws(
      () =>
        parseSecurityGroups(
          sourceText.replace('from: [api, db], why: "PostgreSQL', 'from: [apii, db], why: "PostgreSQL'),
        ),
      /db 5432\/tcp from apii, db .*"apii" is neither a group/,
    );
  });

  it('when rules.tf.json was edited by hand, then the check says to regenerate it', () => {
    const edited = JSON.parse(readFileSync(renderedFile, 'utf8')) as {
      locals: { ingress_rules: Record<string, object> };
    };
    edited.locals.ingress_rules['db-5432-tcp-from-internet'] = {
      group: 'db',
      port: 5432,
      protocol: 'tcp',
      source: 'internet',
      source_kind: 'internet',
      description: 'oops',
    };
    const problems = checkTerraform(source, `${JSON.stringify(edited, null, 2)}\n`);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /db-5432-tcp-from-internet.*not in security-groups\/security-groups.yaml/);
    assert.equal(checkTerraform(source, renderTerraform(source)).length, 0);
  });

  it('when a role admits a port from other groups than its security group, then the check names the rule and the role', () => {
    const roles: Record<string, RoleIngress> = { ...roleRegistry() };
    roles.db = {
      name: 'db',
      ingress: [
        { port: 5432, from: ['api', 'db', 'patroni', 'web'], why: 'PostgreSQL' },
        { port: 8008, from: ['api', 'db', 'patroni', 'monitoring'], why: 'Patroni' },
        { port: 9187, from: ['monitoring'], why: 'exporter' },
      ],
    };
    assert.deepEqual(checkRoles(source, roles), [
      'security-group rule db 5432/tcp from api, db ("PostgreSQL for the API; streaming replication and pg_rewind between the Patroni nodes"): role db (provision/roles/db/index.ts) admits port 5432/tcp from api, db, patroni, web, the security group from api, db, patroni on the host',
    ]);
  });

  it("when a role names only inventory group db for the db security group, then the check asks for patroni's nodes too (never in group db)", () => {
    const roles: Record<string, RoleIngress> = { ...roleRegistry() };
    roles.etcd = {
      name: 'etcd',
      ingress: [
        { port: 2379, from: ['db', 'etcd'], why: 'etcd clients' },
        { port: 2380, from: ['etcd'], why: 'raft' },
        { port: 2381, from: ['monitoring'], why: 'metrics' },
      ],
    };
    assert.deepEqual(checkRoles(source, roles), [
      'security-group rule etcd 2379/tcp from db, etcd ("etcd\'s client API: Patroni on the database hosts"): role etcd (provision/roles/etcd/index.ts) admits port 2379/tcp from db, etcd, the security group from db, etcd, patroni on the host',
    ]);
  });

  it('when a role opens a port its security group does not have (or misses one), then the check names both sides', () => {
    const roles: Record<string, RoleIngress> = { ...roleRegistry() };
    roles.api = {
      name: 'api',
      ingress: [
        { port: 3000, from: ['web'], why: 'API' },
        { port: 8080, from: 'anywhere', why: 'debug' },
      ],
    };
    const problems = checkRoles(source, roles);
    assert.ok(
      problems.includes(
        'security-group rule api 9464/tcp from monitoring ("the API\'s /metrics for Prometheus"): role api (provision/roles/api/index.ts) has no ingress for port 9464/tcp; the host\'s firewall would drop what the security group admits',
      ),
      problems.join('\n'),
    );
    assert.ok(
      problems.includes(
        'role api (provision/roles/api/index.ts) opens port 8080/tcp from anywhere ("debug"), which security group api in security-groups/security-groups.yaml does not have',
      ),
      problems.join('\n'),
    );
  });

  it('when the replica puts the database on the public network, then the check names the network and the services', () => {
    const exposed = compose.replace(
      '    networks: [private]\n    shm_size',
      '    networks: [private, public]\n    shm_size',
    );
    assert.notEqual(exposed, compose);
    assert.deepEqual(checkCompose(source, exposed, composeHa), [
      'docker-compose.yml: network public joins db (db), which replica.networks.public in security-groups/security-groups.yaml does not admit (it admits cloudfront, edge, web, bastion, monitoring): every member of a network reaches every other',
    ]);
  });

  it('when the replica loses the network a rule needs, then the check names the rule', () => {
    const cut = compose.replace('    networks: [public, app]\n', '    networks: [public]\n');
    assert.ok(
      checkCompose(source, cut, composeHa).includes(
        'security-group rule api 3000/tcp from web ("the API, behind the web tier"): no network in docker-compose.yml joins web (web1, web2, web1-exporter, web2-exporter) and api (api)',
      ),
    );
  });

  it('when the HA overlay takes etcd off the network Prometheus scrapes, then the check names the metrics rule', () => {
    const cut = composeHa.replace(
      '    DCS_MEMBERS: etcd1 etcd2 etcd3\n  networks: [private, ha-metrics]\n',
      '    DCS_MEMBERS: etcd1 etcd2 etcd3\n  networks: [private]\n',
    );
    assert.notEqual(cut, composeHa);
    assert.deepEqual(checkCompose(source, compose, cut), [
      'security-group rule etcd 2381/tcp from monitoring ("etcd\'s metrics listener, for Prometheus (never the client port)"): no network in docker-compose.yml joins monitoring (prometheus, alertmanager, sms-notifier, daily-report, node-exporter, blackbox-exporter, grafana, elasticsearch, elk-setup, kibana, filebeat) and etcd (etcd1, etcd2, etcd3, etcd-dr1)',
    ]);
  });

  it("when the HA overlay puts Prometheus on the database's private network, then the check names the network", () => {
    const exposed = composeHa.replace(
      '    networks: [monitoring, metrics, edge-metrics, ops, ha-metrics]\n',
      '    networks: [monitoring, metrics, edge-metrics, ops, ha-metrics, private]\n',
    );
    assert.notEqual(exposed, composeHa);
    assert.deepEqual(checkCompose(source, compose, exposed), [
      'docker-compose.yml: network private joins monitoring (prometheus), which replica.networks.private in security-groups/security-groups.yaml does not admit (it admits api, db, mail, google, aws-s3, etcd): every member of a network reaches every other',
    ]);
  });

  it('when the replica gains a service no group plays, then the check names it', () => {
    const added = compose.replace(
      'networks:\n  public: {}',
      '  redis:\n    image: redis\n    networks: [private]\n\nnetworks:\n  public: {}',
    );
    assert.ok(
      checkCompose(source, added, composeHa).some((problem) =>
        problem.startsWith('docker-compose.yml: service redis plays no security group'),
      ),
    );
  });

  it('when the README’s matrix says the web tier reaches the database, then the check names the cell', () => {
    const wrong = readme.replace('| web1, web2 | | | | ✔ | ✘ | |', '| web1, web2 | | | | ✔ | ✔ | |');
    assert.notEqual(wrong, readme);
    assert.deepEqual(checkReadme(source, wrong), [
      'README.md: the matrix says web1, web2 → db :5432 is allowed (✔), but security group db has no rule admitting web on 5432',
    ]);
  });

  it('when the README’s generated table is stale, then the check says to regenerate it', () => {
    const stale = readme.replace('| db | 5432/tcp | api, db |', '| db | 5432/tcp | api, web |');
    assert.notEqual(stale, readme);
    assert.match(checkReadme(source, stale).join('\n'), /security-group table is not the source's/);
  });
});
