// docs/architecture.md is generated from the layout Terraform reads and the security groups' source:
// it cannot drift from them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadSecurityGroups } from '../../security-groups/schema.js';
import { renderArchitecture } from '../../scripts/lib/architecture.js';
import { loadLayout } from '../../scripts/lib/terraform-model.js';

const committed = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');

describe('docs/architecture.md', () => {
  it('when generated from terraform/envs/prod and security-groups/, then it is the committed file (else: npm run architecture)', async () => {
    const rendered = renderArchitecture(await loadLayout('prod'), loadSecurityGroups());
    assert.equal(committed, rendered, 'docs/architecture.md is stale: run `npm run architecture`');
  });

  it('when read, then it shows the VPC, both zones’ subnets, both regions, every host with its size and every security-group rule', async () => {
    const layout = await loadLayout('prod');
    assert.match(committed, /VPC 10\.0\.0\.0\/16/);
    for (const zone of layout.zones) assert.ok(committed.includes(`zone ${zone}`), zone);
    for (const cidrs of Object.values(layout.subnets))
      for (const cidr of cidrs) assert.ok(committed.includes(cidr), cidr);
    assert.match(committed, /region eu-west-1/);
    assert.match(committed, /region eu-central-1 \(DR\)/);
    assert.match(committed, /web1.*c6i\.xlarge: 4 vCPU \/ 8 GiB \/ 50 GB/);
    assert.match(committed, /api1.*c6i\.2xlarge: 8 vCPU \/ 16 GiB \/ 100 GB/);
    assert.match(committed, /mail1.*t3\.medium: 2 vCPU \/ 4 GiB \/ 20 GB/);
    for (const [group, g] of Object.entries(loadSecurityGroups().groups)) {
      for (const rule of g.rules)
        assert.ok(committed.includes(`-->|":${rule.port}"| sg_${group}`), `${group} :${rule.port}`);
    }
  });

  it('when the layout changes, then the rendering changes with it', async () => {
    const layout = await loadLayout('prod');
    const bigger = structuredClone(layout);
    const web1 = bigger.hosts.web1;
    assert.ok(web1);
    web1.instance_type = 'c6i.2xlarge';
    assert.notEqual(renderArchitecture(bigger, loadSecurityGroups()), committed);
    assert.throws(
      () =>
        renderArchitecture(
          { ...layout, hosts: { ...layout.hosts, odd: { ...web1, instance_type: 'x9.huge' } } },
          loadSecurityGroups(),
        ),
      /instance type x9\.huge: not in/,
    );
  });
});
