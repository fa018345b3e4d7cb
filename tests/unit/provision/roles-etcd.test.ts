import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Host } from '../../../provision/inventories/schema.js';
import { etcdEnvSource, etcdMembers, renderEtcdEnvironment } from '../../../provision/roles/etcd/index.js';
import { rolesOf } from '../../../provision/roles/index.js';

const host = (name: string, address: string, groups: string[], region?: string): Host => ({
  name,
  address,
  port: 22,
  groups,
  vars: region === undefined ? {} : { region },
});
const etcd1 = host('etcd1', '10.0.3.21', ['etcd'], 'eu-west-1');
const etcd2 = host('etcd2', '10.0.7.21', ['etcd'], 'eu-west-1');
const etcd3 = host('etcd3', '10.0.3.22', ['etcd'], 'eu-west-1');
const etcdDr = host('etcd-dr1', '10.1.3.21', ['etcd'], 'eu-central-1');
const template = readFileSync(etcdEnvSource, 'utf8');

describe('etcd role: the image template rendered for a host', () => {
  it("when a member of a three-member region renders, then /etc/default/etcd names it, its address and only its region's peers", () => {
    const play = { hosts: [etcd1, etcd2, etcd3, etcdDr] };
    const rendered = renderEtcdEnvironment(template, etcd2, play);
    assert.match(rendered, /^ETCD_NAME=etcd2$/m);
    assert.match(rendered, /^ETCD_ADVERTISE_CLIENT_URLS=http:\/\/10\.0\.7\.21:2379$/m);
    assert.match(
      rendered,
      /^ETCD_INITIAL_CLUSTER=etcd1=http:\/\/10\.0\.3\.21:2380,etcd2=http:\/\/10\.0\.7\.21:2380,etcd3=http:\/\/10\.0\.3\.22:2380$/m,
    );
    assert.match(rendered, /^ETCD_INITIAL_CLUSTER_TOKEN=refereezy-etcd-eu-west-1$/m);
    assert.doesNotMatch(rendered, /\$\{/);
    assert.deepEqual(
      etcdMembers(etcdDr, play).map((member) => member.name),
      ['etcd-dr1'],
    );
  });

  it('when a region has an even number of members, then the role refuses, naming the host', () => {
    assert.throws(
      () => renderEtcdEnvironment(template, etcd1, { hosts: [etcd1, etcd2] }),
      /host etcd1: role etcd: group etcd has 2 members in region eu-west-1: an odd number/,
    );
  });

  it('when a host is in group etcd, then it gets the etcd role after common', () => {
    assert.deepEqual(
      rolesOf(etcd1, undefined).map((role) => role.name),
      ['common', 'etcd'],
    );
  });
});
