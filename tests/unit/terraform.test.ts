// terraform/ checked offline: providers cannot be downloaded here, so `terraform validate`/`plan`
// run in the GitHub workflow; here `terraform fmt -check` runs (where Terraform is installed) and the
// HCL is parsed with HashiCorp's own parser (@cdktf/hcl2json, WASM) to check what matters: every
// security-group rule from the one source, no 0.0.0.0/0 ingress but the edge's 80/443, encryption
// on every bucket and volume, IMDSv2, tags, the instance sizes, state locking.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadSecurityGroups } from '../../security-groups/schema.js';
import { terraformRules } from '../../security-groups/terraform.js';
import {
  blocksOf,
  loadLayout,
  localsOf,
  parseDirectory,
  sizeOf,
  terraformRoot,
  type HclFile,
  type HclResource,
} from '../../scripts/lib/terraform-model.js';

const run = promisify(execFile);
const modules = ['network', 'security', 'compute', 'storage', 'edge', 'alerting'] as const;
/** The composition every environment calls (terraform/modules/platform). */
const composition = 'platform';
const environments = ['staging', 'prod'] as const;

const parsed = new Map<string, HclFile[]>();
let allResources: HclResource[] = [];

before(async () => {
  for (const name of [...modules, composition])
    parsed.set(`modules/${name}`, await parseDirectory(path.join(terraformRoot, 'modules', name)));
  for (const name of environments)
    parsed.set(`envs/${name}`, await parseDirectory(path.join(terraformRoot, 'envs', name)));
  allResources = [...parsed.values()].flatMap((files) => blocksOf(files, 'resource'));
});

const resources = (type: string) => allResources.filter((resource) => resource.type === type);
const where = (resource: HclResource) => `${resource.file}: ${resource.type}.${resource.name}`;
const first = (value: unknown): Record<string, unknown> =>
  ((Array.isArray(value) ? value[0] : value) ?? {}) as Record<string, unknown>;
/** "${aws_s3_bucket.backups.id}" → "backups" */
const bucketOf = (resource: HclResource) => /aws_s3_bucket\.([a-z_]+)\.id/.exec(String(resource.body.bucket))?.[1];

async function terraformAvailable(): Promise<boolean> {
  try {
    await run('terraform', ['version']);
    return true;
  } catch {
    return false;
  }
}

describe('terraform/ (offline)', () => {
  it('when formatted, then `terraform fmt -check -recursive` finds nothing to change', async (t) => {
    if (!(await terraformAvailable())) {
      t.skip('terraform is not installed on this machine (the workflow runs fmt too)');
      return;
    }
    const { stdout } = await run('terraform', ['fmt', '-check', '-recursive', '-list=true', 'terraform'], {
      cwd: path.dirname(terraformRoot),
    }).catch((caught: unknown) => {
      const error = caught as { stdout?: string; stderr?: string };
      throw new Error(
        `terraform fmt -check: files not formatted (run terraform fmt -recursive terraform):\n${error.stdout ?? ''}${error.stderr ?? ''}`,
      );
    });
    assert.equal(stdout.trim(), '');
  });

  it('when an environment is planned, then it uses every module (through the platform module), S3 state with its lock file, and the DR and us-east-1 aliases', () => {
    const keys = new Set<string>();
    const composed = blocksOf(parsed.get(`modules/${composition}`) ?? [], 'module');
    assert.deepEqual(
      composed.map((module) => module.name).sort(),
      [...modules].sort(),
      `modules/${composition} calls every module`,
    );
    for (const module of composed) assert.equal(module.body.source, `../${module.name}`);
    for (const environment of environments) {
      const files = parsed.get(`envs/${environment}`) ?? [];
      const called = blocksOf(files, 'module');
      assert.deepEqual(
        called.map((module) => module.name),
        [composition],
        `envs/${environment} calls the platform module only`,
      );
      const platform = called.at(0);
      assert.ok(platform);
      assert.equal(platform.body.source, `../../modules/${composition}`);
      assert.deepEqual(
        Object.keys(first(platform.body.providers)).sort(),
        ['aws', 'aws.dr', 'aws.us_east_1'],
        `envs/${environment}: passes its three providers`,
      );
      const backend = files
        .flatMap(({ json }) => (json.terraform as Record<string, unknown>[] | undefined) ?? [])
        .map((block) => first(block.backend))
        .find((b) => 's3' in b);
      const s3 = first(backend?.s3);
      assert.equal(s3.use_lockfile, true, `envs/${environment}: S3 state locked by its lock file`);
      assert.equal(s3.encrypt, true, `envs/${environment}: state encrypted`);
      assert.equal(s3.region, 'eu-west-1');
      keys.add(String(s3.key));
      const providers = files.flatMap(
        ({ json }) => (first(json.provider).aws as Record<string, unknown>[] | undefined) ?? [],
      );
      const aliases = providers.map((provider) => provider.alias ?? '(default)').sort();
      assert.deepEqual(aliases, ['(default)', 'dr', 'us_east_1'], `envs/${environment}: providers`);
      for (const provider of providers) {
        const tags = first(first(provider.default_tags).tags);
        assert.ok(
          JSON.stringify(tags).includes('local.tags'),
          `envs/${environment}: provider ${JSON.stringify(provider.alias ?? 'aws')} tags everything with local.tags`,
        );
      }
      const locals = localsOf(files);
      assert.deepEqual(Object.keys(first(locals.tags)).sort(), ['Environment', 'ManagedBy', 'Project']);
      assert.equal(locals.dr_region, 'eu-central-1');
      assert.equal(locals.region, 'eu-west-1');
    }
    assert.equal(keys.size, environments.length, 'each environment has its own state key');
  });

  it('when a security-group rule exists, then it comes from the one source, and 0.0.0.0/0 reaches only the edge on 80/443', () => {
    const ruleTypes = ['aws_security_group_rule', 'aws_vpc_security_group_ingress_rule'];
    for (const resource of allResources.filter((r) => ruleTypes.includes(r.type))) {
      assert.equal(
        resource.file,
        'terraform/modules/security/main.tf',
        `${where(resource)}: rules are written in security-groups/security-groups.yaml, not by hand`,
      );
      assert.match(
        String(resource.body.for_each),
        /local\.ingress_rules/,
        `${where(resource)}: iterates over the generated rules`,
      );
    }
    for (const group of resources('aws_security_group')) {
      assert.equal(group.body.ingress, undefined, `${where(group)}: no inline ingress`);
    }
    const wideOpen = allResources.filter(
      (r) =>
        r.type === 'aws_vpc_security_group_ingress_rule' &&
        ['0.0.0.0/0', '::/0'].includes(String(r.body.cidr_ipv4 ?? r.body.cidr_ipv6)),
    );
    assert.deepEqual(
      wideOpen.map((r) => r.name),
      ['from_internet'],
    );
    assert.match(String(wideOpen[0]?.body.for_each), /rule\.source_kind == "internet"/);

    const rendered = localsOf(parsed.get('modules/security') ?? []);
    const rules = rendered.ingress_rules as Record<string, { group: string; port: number; source_kind: string }>;
    assert.deepEqual(rules, terraformRules(loadSecurityGroups()), 'rules.tf.json is the source rendered');
    for (const [key, rule] of Object.entries(rules)) {
      if (rule.source_kind !== 'internet') continue;
      assert.ok(
        rule.group === 'edge' && [80, 443].includes(rule.port),
        `rule ${key} opens ${rule.group}:${rule.port} to the internet (0.0.0.0/0): only the edge's 80 and 443 may be`,
      );
    }
    // The database and the API admit only their groups' sources.
    const sourcesOf = (group: string, port: number) =>
      Object.values(rules)
        .filter((r) => r.group === group && r.port === port)
        .map((r) => (r as unknown as { source: string }).source)
        .sort();
    // The database's own group: Patroni's nodes replicate (and pg_rewind) from each other.
    assert.deepEqual(sourcesOf('db', 5432), ['api', 'db']);
    assert.deepEqual(sourcesOf('api', 3000), ['web']);
    assert.deepEqual(sourcesOf('bastion', 22), ['operators']);
    assert.deepEqual(sourcesOf('management', 22), ['bastion']);
  });

  it('when a bucket is declared, then it is versioned, encrypted, closed to the public, and backups expire after 30 days and replicate to the DR region', () => {
    const buckets = resources('aws_s3_bucket');
    assert.deepEqual(buckets.map((b) => b.name).sort(), ['assets', 'backups', 'dr']);
    for (const bucket of buckets) {
      const sse = resources('aws_s3_bucket_server_side_encryption_configuration').find(
        (r) => bucketOf(r) === bucket.name,
      );
      assert.ok(sse, `${where(bucket)}: no server-side encryption configuration`);
      const algorithm = first(first(first(sse.body.rule).apply_server_side_encryption_by_default)).sse_algorithm;
      assert.ok(
        ['AES256', 'aws:kms', 'aws:kms:dsse'].includes(String(algorithm)),
        `${where(bucket)}: SSE algorithm ${String(algorithm)}`,
      );
      const versioning = resources('aws_s3_bucket_versioning').find((r) => bucketOf(r) === bucket.name);
      assert.equal(first(versioning?.body.versioning_configuration).status, 'Enabled', `${where(bucket)}: versioning`);
      const block = resources('aws_s3_bucket_public_access_block').find((r) => bucketOf(r) === bucket.name);
      for (const setting of [
        'block_public_acls',
        'block_public_policy',
        'ignore_public_acls',
        'restrict_public_buckets',
      ]) {
        assert.equal(block?.body[setting], true, `${where(bucket)}: ${setting}`);
      }
    }
    assert.equal(buckets.find((b) => b.name === 'dr')?.body.provider, '${aws.dr}', 'the DR bucket is in the DR region');
    for (const name of ['backups', 'dr']) {
      const lifecycle = resources('aws_s3_bucket_lifecycle_configuration').find((r) => bucketOf(r) === name);
      const rule = first(lifecycle?.body.rule);
      assert.equal(rule.status, 'Enabled');
      assert.equal(first(rule.expiration).days, '${var.backup_retention_days}', `${name}: expiry`);
      assert.equal(first(rule.noncurrent_version_expiration).noncurrent_days, '${var.backup_retention_days}');
    }
    const retention = first(
      first(
        first((parsed.get('modules/storage') ?? []).find((f) => f.file.endsWith('variables.tf'))?.json.variable)
          .backup_retention_days,
      ),
    );
    assert.equal(retention.default, 30);
    const replication = resources('aws_s3_bucket_replication_configuration');
    assert.equal(replication.length, 1);
    assert.equal(bucketOf(replication[0] as HclResource), 'backups');
    assert.equal(first(first(replication[0]?.body.rule).destination).bucket, '${aws_s3_bucket.dr.arn}');
  });

  it('when an instance or volume is declared, then its disks are encrypted, IMDSv2 is required and it is tagged', () => {
    const instances = resources('aws_instance');
    assert.ok(instances.length > 0);
    for (const instance of instances) {
      const root = first(instance.body.root_block_device);
      assert.equal(root.encrypted, true, `${where(instance)}: root volume encrypted`);
      assert.equal(root.volume_type, 'gp3');
      const metadata = first(instance.body.metadata_options);
      assert.equal(metadata.http_tokens, 'required', `${where(instance)}: IMDSv2 only`);
      assert.match(String(instance.body.tags), /var\.tags.*Name.*Role/s, `${where(instance)}: tags`);
      assert.equal(
        instance.body.ebs_block_device,
        undefined,
        `${where(instance)}: extra volumes are aws_ebs_volume resources, checked below`,
      );
    }
    for (const volume of resources('aws_ebs_volume'))
      assert.equal(volume.body.encrypted, true, `${where(volume)}: encrypted`);
    assert.equal(resources('aws_ebs_encryption_by_default')[0]?.body.enabled, true);
  });

  it('when a taggable resource is declared, then it carries the environment’s tags', () => {
    const taggable = [
      'aws_vpc',
      'aws_subnet',
      'aws_internet_gateway',
      'aws_nat_gateway',
      'aws_eip',
      'aws_security_group',
      'aws_instance',
      'aws_s3_bucket',
      'aws_lb',
      'aws_lb_target_group',
      'aws_cloudfront_distribution',
      'aws_wafv2_web_acl',
      'aws_sns_topic',
      'aws_cloudwatch_metric_alarm',
      'aws_iam_role',
      'aws_acm_certificate',
      'aws_sesv2_email_identity',
    ];
    for (const resource of allResources.filter((r) => taggable.includes(r.type))) {
      assert.match(String(resource.body.tags), /var\.tags/, `${where(resource)}: tags = var.tags (or merged with it)`);
    }
  });

  it('when production is laid out, then the hosts have the server table’s sizes', async () => {
    const layout = await loadLayout('prod');
    // The server table; the database: 4 vCPU, 32 GiB (working set in memory), 200 GB.
    const expected: Record<string, { vcpu: number; memoryGiB: number; disk: number }> = {
      web: { vcpu: 4, memoryGiB: 8, disk: 50 },
      api: { vcpu: 8, memoryGiB: 16, disk: 100 },
      mail: { vcpu: 2, memoryGiB: 4, disk: 20 },
      db: { vcpu: 4, memoryGiB: 32, disk: 200 },
    };
    for (const [name, host] of Object.entries(layout.hosts)) {
      const want = expected[host.role];
      if (!want) continue;
      const size = sizeOf(host.instance_type);
      assert.deepEqual(
        { vcpu: size.vcpu, memoryGiB: size.memoryGiB, disk: host.volume_size_gb },
        want,
        `${name} (${host.role}, ${host.instance_type})`,
      );
    }
    const roles = (role: string) => Object.values(layout.hosts).filter((host) => host.role === role);
    assert.equal(roles('web').length, 2);
    assert.equal(roles('api').length, 2);
    assert.deepEqual(
      new Set(roles('web').map((host) => host.subnet.slice(-1))),
      new Set(['a', 'b']),
      'a web server in each zone',
    );
    assert.deepEqual(
      new Set(roles('api').map((host) => host.subnet.slice(-1))),
      new Set(['a', 'b']),
      'an API server in each zone',
    );
    for (const role of ['bastion', 'monitoring', 'db', 'mail']) assert.ok(roles(role).length >= 1, `a ${role} host`);
    assert.ok(
      Object.values(layout.hosts).every((host) => host.role === 'bastion' || !host.subnet.startsWith('public')),
      'only the bastion in a public subnet',
    );
  });

  it('when the edge is declared, then CloudFront has WAF’s managed rule groups, HTTPS only, and the ALB redirects HTTP', () => {
    const acl = resources('aws_wafv2_web_acl')[0];
    assert.equal(acl?.body.scope, 'CLOUDFRONT');
    assert.equal(acl.body.provider, '${aws.us_east_1}');
    const edgeLocals = localsOf(parsed.get('modules/edge') ?? []);
    assert.deepEqual(Object.keys(first(edgeLocals.managed_rule_groups)).sort(), [
      'AWSManagedRulesAmazonIpReputationList',
      'AWSManagedRulesCommonRuleSet',
      'AWSManagedRulesKnownBadInputsRuleSet',
      'AWSManagedRulesSQLiRuleSet',
    ]);
    const distribution = resources('aws_cloudfront_distribution')[0];
    assert.equal(distribution?.body.web_acl_id, '${aws_wafv2_web_acl.this.arn}');
    assert.equal(first(distribution.body.default_cache_behavior).viewer_protocol_policy, 'redirect-to-https');
    assert.equal(first(first(distribution.body.origin).custom_origin_config).origin_protocol_policy, 'https-only');
    const http = resources('aws_lb_listener').find((listener) => listener.name === 'http');
    assert.equal(first(first(http?.body.default_action).redirect).protocol, 'HTTPS');
    assert.deepEqual(
      resources('aws_route53_record')
        .map((record) => record.name)
        .sort(),
      ['api_internal', 'bastion', 'dkim', 'origin', 'site', 'validation'],
    );
  });

  it('when alerting is declared, then CloudWatch alarms cover status checks, the ALB’s 5xx and disk, into the SNS topic', () => {
    const alarms = resources('aws_cloudwatch_metric_alarm');
    const metrics = alarms.map((alarm) => `${String(alarm.body.namespace)}/${String(alarm.body.metric_name)}`);
    assert.ok(metrics.includes('AWS/EC2/StatusCheckFailed'));
    assert.ok(metrics.includes('CWAgent/disk_used_percent'));
    assert.ok(metrics.includes('AWS/ApplicationELB/${each.value}'));
    const alb = alarms.find((alarm) => alarm.name === 'alb_5xx');
    assert.deepEqual(Object.values(first(alb?.body.for_each)).sort(), [
      'HTTPCode_ELB_5XX_Count',
      'HTTPCode_Target_5XX_Count',
    ]);
    for (const alarm of alarms)
      assert.match(
        JSON.stringify(alarm.body.alarm_actions),
        /aws_sns_topic\.alerts\.arn/,
        `${where(alarm)}: notifies the alerts topic`,
      );
    assert.equal(resources('aws_sns_topic')[0]?.body.kms_master_key_id, 'alias/aws/sns');
    assert.equal(resources('aws_sesv2_email_identity').length, 1);
  });

  it('when an environment is laid out, then it is its backend.tf and hosts.tf, and every other file is the shared one (terraform/env-shared) linked', () => {
    const shared = readdirSync(path.join(terraformRoot, 'env-shared')).sort();
    assert.deepEqual(shared, ['main.tf', 'outputs.tf', 'variables.tf', 'versions.tf']);
    for (const environment of environments) {
      const directory = path.join(terraformRoot, 'envs', environment);
      assert.deepEqual(
        readdirSync(directory).sort(),
        ['backend.tf', 'hosts.tf', ...shared].sort(),
        `envs/${environment}: files`,
      );
      for (const file of shared) {
        const at = path.join(directory, file);
        assert.ok(
          lstatSync(at).isSymbolicLink(),
          `envs/${environment}/${file}: a link to ../../env-shared/${file}, not a copy (copies drift)`,
        );
        assert.equal(readlinkSync(at), `../../env-shared/${file}`);
      }
    }
  });

  it('when the modules are listed, then each has main.tf, variables.tf, outputs.tf and pins its provider', () => {
    for (const name of [...modules, composition]) {
      const files = readdirSync(path.join(terraformRoot, 'modules', name));
      for (const file of ['main.tf', 'variables.tf', 'outputs.tf', 'versions.tf'])
        assert.ok(files.includes(file), `modules/${name}/${file}`);
      const required = (parsed.get(`modules/${name}`) ?? [])
        .flatMap(({ json }) => (json.terraform as Record<string, unknown>[] | undefined) ?? [])
        .map((block) => first(block.required_providers));
      assert.match(JSON.stringify(required), /hashicorp\/aws.*~> 6\.0/, `modules/${name} pins hashicorp/aws`);
    }
  });
});
