import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Host } from '../../../provision/inventories/schema.js';
import {
  cloudwatch,
  cloudwatchEnvironmentFile,
  cloudwatchEnvironmentOf,
  cloudwatchMetrics,
  cloudwatchNamespace,
  cloudwatchScript,
} from '../../../provision/roles/cloudwatch/index.js';
import { rolesOf } from '../../../provision/roles/index.js';
import type { EgressRule } from '../../../provision/roles/role.js';
import { blocksOf, parseDirectory, terraformRoot } from '../../../scripts/lib/terraform-model.js';
import { roleInputs } from '../../support/role-inputs.js';

const host = (vars: Record<string, unknown>, groups = ['web']): Host => ({
  name: 'web1',
  address: '10.0.1.10',
  port: 22,
  groups,
  vars,
});
const inputs = await roleInputs(cloudwatch, [host({ cloudwatch_region: 'eu-west-1' })]);
const play = (target: Host) => ({ hosts: [target], inputs });
const egressOf = (target: Host): readonly EgressRule[] =>
  typeof cloudwatch.egress === 'function' ? cloudwatch.egress(target, play(target)) : (cloudwatch.egress ?? []);

describe('cloudwatch role: disk and memory use to CloudWatch', () => {
  it('when a host names cloudwatch_region, then it gets the role (after common); without it, not', () => {
    assert.deepEqual(
      rolesOf(host({ cloudwatch_region: 'eu-west-1' }), undefined).map((role) => role.name),
      ['common', 'cloudwatch', 'web'],
    );
    assert.deepEqual(
      rolesOf(host({}), undefined).map((role) => role.name),
      ['common', 'web'],
    );
  });

  it('when converged, then it installs awscli, the script, its settings (0640, no key: the instance role) and a timer every minute', () => {
    const tasks = cloudwatch.tasks(host({ cloudwatch_region: 'eu-west-1' }), play(host({})));
    const names = tasks.map((task) => task.name);
    assert.deepEqual(names, [
      'Install awscli (put-metric-data)',
      'Create the system user cwmetrics (no login, no home) the metrics are sent as',
      'Install cloudwatch-metrics (disk and memory use for CloudWatch)',
      'Create /etc/refereezy',
      `Write its settings ${cloudwatchEnvironmentFile} (readable by cwmetrics only)`,
      'Send the metrics to CloudWatch (*-*-* *:*:00)',
    ]);
    assert.deepEqual(cloudwatchEnvironmentOf(host({ cloudwatch_region: 'eu-west-1' })), {
      CW_REGION: 'eu-west-1',
      CW_NAMESPACE: 'CWAgent',
      CW_PATHS: '/',
    });
    // On a host with nothing yet, the plans write the script and the timer that runs it as cwmetrics.
    const script = tasks[2]?.operation.plan(null);
    assert.ok(
      script?.commands.some((command) => command.argv.includes(cloudwatchScript)),
      JSON.stringify(script),
    );
    const settings = tasks[4]?.operation.plan(null);
    assert.ok(
      settings?.commands.some((command) => command.argv.includes('0640') || command.argv.join(' ').includes('640')),
      JSON.stringify(settings?.commands.map((command) => command.argv)),
    );
  });

  it('when a lab names an emulator and a key, then the settings carry them and the firewall opens the emulator’s port only', () => {
    const lab = host({
      cloudwatch_region: 'eu-west-1',
      cloudwatch_endpoint_url: 'http://aws-emulator:5000',
      cloudwatch_instance_id: 'i-lab-web1',
      cloudwatch_access_key_id: 'testing',
      cloudwatch_secret_access_key: 'testing',
    });
    const environment = cloudwatchEnvironmentOf(lab);
    assert.equal(environment.CW_ENDPOINT_URL, 'http://aws-emulator:5000');
    assert.equal(environment.CW_INSTANCE_ID, 'i-lab-web1');
    assert.equal(environment.AWS_ACCESS_KEY_ID, 'testing');
    assert.equal(environment.AWS_SECRET_ACCESS_KEY, 'testing');
    assert.deepEqual(
      egressOf(lab).map((rule) => ({
        port: rule.port,
        to: typeof rule.to === 'function' ? rule.to(lab, play(lab)) : rule.to,
      })),
      [{ port: 5000, to: 'anywhere' }],
    );
    const production = host({ cloudwatch_region: 'eu-west-1' });
    assert.deepEqual(
      egressOf(production).map((rule) => [rule.port, rule.to]),
      [[443, 'anywhere']],
    );
  });

  it('when its vars are wrong, then the error names the host, the role and the var', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ cloudwatch_region: 'Ireland' }, /host web1: role cloudwatch: vars\.cloudwatch_region: an AWS region/],
      [
        { cloudwatch_region: 'eu-west-1', cloudwatch_access_key_id: 'AKIA' },
        /vars\.cloudwatch_access_key_id: cloudwatch_access_key_id and cloudwatch_secret_access_key go together/,
      ],
      [{ cloudwatch_region: 'eu-west-1', cloudwatch_paths: ['var'] }, /vars\.cloudwatch_paths\.0: an absolute path/],
      [{ cloudwatch_region: 'eu-west-1', cloudwatch_endpoint_url: 'ftp://x' }, /vars\.cloudwatch_endpoint_url/],
    ];
    for (const [vars, error] of cases)
      assert.throws(() => cloudwatch.tasks(host(vars), play(host(vars))), error, JSON.stringify(vars));
  });

  it('when compared with the Terraform disk alarm, then the namespace, metric and dimensions are the ones it sends', async () => {
    const files = await parseDirectory(path.join(terraformRoot, 'modules', 'alerting'));
    const disk = blocksOf(files, 'resource').find(
      (resource) => resource.type === 'aws_cloudwatch_metric_alarm' && resource.name === 'disk',
    );
    assert.ok(disk, 'terraform/modules/alerting has the disk alarm');
    assert.equal(disk.body.namespace, cloudwatchNamespace);
    assert.equal(disk.body.metric_name, cloudwatchMetrics.disk.name);
    const dimensions = disk.body.dimensions as Record<string, unknown>;
    assert.deepEqual(Object.keys(dimensions).sort(), [...cloudwatchMetrics.disk.dimensions].sort());
    assert.equal(dimensions.path, '/', 'the alarm watches "/", which the role sends by default');
  });
});
