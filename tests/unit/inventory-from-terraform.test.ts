// The provisioning inventory from `terraform output -json`: proven on a recorded output of prod
// (tests/fixtures/terraform-output.prod.json), and on the ways the two drift apart.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseInventory } from '../../provision/inventories/load.js';
import { hostsOf } from '../../provision/inventories/merge.js';
import {
  inventoryDifferences,
  inventoryFromTerraform,
  parseTerraformOutput,
  type TerraformInventory,
} from '../../provision/inventories/terraform.js';
import { expectedInventory, hostGroups, loadLayout } from '../../scripts/lib/terraform-model.js';
import { repoRoot } from '../support/paths.js';

const run = promisify(execFile);
const fixture = path.join(repoRoot, 'tests/fixtures/terraform-output.prod.json');
const inventoryFile = 'provision/inventories/prod.yaml';
const outputText = readFileSync(fixture, 'utf8');
const inventoryText = readFileSync(path.join(repoRoot, inventoryFile), 'utf8');
const terraform = parseTerraformOutput(outputText, fixture);
const scratch = mkdtempSync(path.join(tmpdir(), 'inventory-from-terraform-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const clone = (): TerraformInventory => structuredClone(terraform);
const messages = (t: TerraformInventory, text = inventoryText) =>
  inventoryDifferences(t, text, inventoryFile).map((difference) => difference.message);

/** The CLI as an operator runs it; its exit code and what it printed. */
async function cli(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'scripts/inventory-from-terraform.ts', ...args],
      { cwd: repoRoot },
    );
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

function outputWith(t: TerraformInventory): string {
  const json = JSON.parse(outputText) as Record<string, { value: unknown }>;
  (json.inventory as { value: unknown }).value = t;
  const file = path.join(scratch, `output-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(json));
  return file;
}

describe('the inventory from Terraform', () => {
  it('when prod.yaml is checked against the recorded output, then every host, address, group, zone and the bastion match', () => {
    assert.deepEqual(messages(terraform), []);
    const inventory = parseInventory(inventoryText, inventoryFile);
    assert.equal(inventory.bastion.host, 'bastion.refereezy.example');
    assert.equal(inventory.bastion.private_address, '10.0.0.10');
    assert.deepEqual(
      hostsOf(inventory)
        .map(
          (host) => `${host.name} ${host.address} ${host.groups.join(',')} ${inventory.hosts[host.name]?.zone ?? ''}`,
        )
        .sort(),
      Object.entries(terraform.hosts)
        .map(([name, host]) => `${name} ${host.address} ${host.groups.join(',')} ${host.zone}`)
        .sort(),
    );
  });

  it('when the recorded output is Terraform’s own layout, then it names the hosts terraform/envs/prod/hosts.tf declares', async () => {
    const layout = await loadLayout('prod');
    assert.deepEqual(
      Object.entries(terraform.hosts)
        .map(([name, host]) => `${name} ${host.address} ${host.groups.join(',')} ${host.instance_type ?? ''}`)
        .sort(),
      Object.entries(layout.hosts)
        .map(([name, host]) => `${name} ${host.address} ${hostGroups(host).join(',')} ${host.instance_type}`)
        .sort(),
    );
  });

  it('when the inventory has a host Terraform does not know, then it is reported by name', () => {
    const gone = clone();
    delete gone.hosts.db1;
    assert.deepEqual(messages(gone), [
      'host db1 is in provision/inventories/prod.yaml but Terraform (prod) does not know it',
    ]);
  });

  it('when Terraform made a host the inventory lacks, then it is reported by name with its address, group and zone', () => {
    const more = clone();
    more.hosts.web3 = { address: '10.0.1.11', groups: ['web'], zone: 'eu-west-1a' };
    assert.deepEqual(messages(more), [
      'host web3 (10.0.1.11, web, eu-west-1a) is in Terraform (prod) but not in provision/inventories/prod.yaml',
    ]);
  });

  it('when an address, a group, a zone or the bastion changed, then each difference names its host', () => {
    const moved = clone();
    moved.hosts.api2 = { ...moved.hosts.api2, address: '10.0.6.11', zone: 'eu-west-1a', groups: ['api'] };
    moved.hosts.mon1 = {
      ...moved.hosts.mon1,
      address: moved.hosts.mon1?.address ?? '',
      zone: moved.hosts.mon1?.zone ?? '',
      groups: ['monitoring', 'mail'],
    };
    moved.bastion.host = 'jump.refereezy.example';
    assert.deepEqual(messages(moved), [
      'host api2: address 10.0.6.10 in provision/inventories/prod.yaml, 10.0.6.11 in Terraform',
      'host api2: zone eu-west-1b in provision/inventories/prod.yaml, eu-west-1a in Terraform',
      'host mon1: groups monitoring in provision/inventories/prod.yaml, monitoring, mail in Terraform',
      'bastion.host: bastion.refereezy.example in provision/inventories/prod.yaml, jump.refereezy.example in Terraform',
    ]);
  });

  it('when an outdated inventory is written from the output, then it becomes the committed one, comments and vars kept', () => {
    const outdated = inventoryText
      .replace(
        'web2: {address: 10.0.5.10, groups: [web], zone: eu-west-1b}',
        'web2: {address: 10.0.1.11, groups: [web]}',
      )
      .replace(/\n {2}db1: .*\n/, '\n');
    assert.notEqual(outdated, inventoryText);
    assert.equal(messages(terraform, outdated).length, 3);
    const written = inventoryFromTerraform(terraform, outdated, inventoryFile);
    assert.deepEqual(messages(terraform, written), []);
    assert.match(written, /# The bastion converges too/);
    assert.match(written, /mail_relayhost: '\[email-smtp\.eu-west-1\.amazonaws\.com\]:587'/);
    assert.deepEqual(parseInventory(written, inventoryFile).hosts, parseInventory(inventoryText, inventoryFile).hosts);
  });

  it('when the CLI checks the recorded output, then it exits 0; when a host is missing, it exits 1 naming it', async () => {
    const ok = await cli(fixture, '--check');
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.output, /provision\/inventories\/prod\.yaml matches Terraform \(8 hosts and the bastion\)/);
    const gone = clone();
    delete gone.hosts.mail1;
    const drift = await cli(outputWith(gone), '--check');
    assert.equal(drift.code, 1, drift.output);
    assert.match(
      drift.output,
      /host mail1 is in provision\/inventories\/prod\.yaml but Terraform \(prod\) does not know it/,
    );
  });

  it('when the CLI writes an inventory, then the file is updated and a host Terraform does not know is kept and named', async () => {
    const file = path.join(scratch, 'prod.yaml');
    writeFileSync(file, inventoryText.replace('10.0.5.10', '10.0.1.11'));
    const gone = clone();
    delete gone.hosts.mail1;
    const written = await cli(outputWith(gone), '--env', file, '--write');
    assert.equal(written.code, 1, written.output);
    assert.match(written.output, /host mail1 is in .*prod\.yaml but Terraform \(prod\) does not know it \(kept/);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /web2: \{address: 10\.0\.5\.10/);
    assert.match(text, /mail1:/);
  });

  it('when the output is not terraform output -json, or lacks the inventory, then the error says so and names the file', async () => {
    assert.throws(
      () => parseTerraformOutput('{not json', 'out.json'),
      /out\.json: not the JSON of `terraform output -json`/,
    );
    assert.throws(
      () => parseTerraformOutput('{"other": {"sensitive": false, "value": 1}}', 'out.json'),
      /out\.json: has no output "inventory" .*outputs here: other/,
    );
    assert.throws(
      () =>
        parseTerraformOutput(
          JSON.stringify({
            inventory: { sensitive: false, value: { ...terraform, hosts: { Web1: terraform.hosts.web1 } } },
          }),
          'out.json',
        ),
      /out\.json: output "inventory": hosts\.Web1/,
    );
    const bad = await cli(path.join(scratch, 'missing.json'));
    assert.equal(bad.code, 1);
    assert.match(bad.output, /inventory:from-terraform: .*missing\.json/);
  });
});

describe('each inventory against its Terraform layout (before any apply)', () => {
  for (const environment of ['staging', 'prod']) {
    it(`when ${environment}.yaml is compared with terraform/envs/${environment}/hosts.tf, then hosts, addresses, groups, zones and the bastion agree`, async () => {
      const file = `provision/inventories/${environment}.yaml`;
      const expected = expectedInventory(await loadLayout(environment));
      assert.deepEqual(
        inventoryDifferences(expected, readFileSync(path.join(repoRoot, file), 'utf8'), file).map(
          (difference) => difference.message,
        ),
        [],
      );
    });
  }
});
