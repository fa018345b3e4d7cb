import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { planPlay, preparePlay } from '../../../provision/core/play.js';
import { limitHosts } from '../../../provision/inventories/limit.js';
import { loadInventory, parseInventory, resolveInventoryPath } from '../../../provision/inventories/load.js';
import { hostsOf } from '../../../provision/inventories/merge.js';
import { InventoryError } from '../../../provision/validation/yaml-file.js';

const good = `
bastion: { host: bastion.example, user: ops }
vars: { admin_user: admin, region: eu }
groups:
  web: { region: eu-west }
hosts:
  web1: { address: 10.0.1.10, groups: [web], vars: { region: eu-west-1 } }
  db1: { address: 10.0.3.10 }
`;

function rejection(text: string): InventoryError {
  try {
    parseInventory(text, 'bad.yaml');
  } catch (error) {
    assert.ok(error instanceof InventoryError, String(error));
    return error;
  }
  assert.fail('the inventory was accepted');
}

describe('inventory schema', () => {
  it('when the shipped inventories are planned with the example vault, then every host of every role plans', async () => {
    // The real vaults are not in the repo: vault.example.yaml lists the same keys with placeholders.
    const secrets = parseYaml(
      readFileSync(resolveInventoryPath('prod').replace(/prod\.yaml$/, 'vault.example.yaml'), 'utf8'),
    ) as Record<string, unknown>;
    // Stand-in releases (as CI would pass built ones): planning must not build the API and the notifier.
    const scratch = mkdtempSync(path.join(tmpdir(), 'inventory-test-'));
    const releaseFile = path.join(scratch, 'release.tar.gz');
    writeFileSync(releaseFile, 'a stand-in release');
    Object.assign(secrets, { api_release_file: releaseFile, notifier_release_file: releaseFile });
    for (const name of ['prod', 'staging']) {
      const file = resolveInventoryPath(name);
      const parsed = parseInventory(readFileSync(file, 'utf8'), file);
      assert.ok(parsed.vault, `${name} names its vault`);
      const inventory = { ...parsed, vars: { ...parsed.vars, ...secrets } };
      const hosts = hostsOf(inventory);
      const plans = planPlay({
        inventory,
        hosts,
        allHosts: hosts,
        inputs: await preparePlay({ inventory, hosts, allHosts: hosts }),
      });
      for (const host of hosts)
        assert.ok(
          (plans.get(host.name) ?? []).some((planned) => planned.tasks.length > 0),
          `${name}: ${host.name}`,
        );
      assert.deepEqual(
        new Set(hosts.flatMap((host) => host.groups)),
        new Set(['bastion', 'web', 'api', 'db', 'mail', 'monitoring', 'deadman']),
        name,
      );
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  it('when a shipped inventory names its vault and the file is absent, then loading says which file', () => {
    assert.throws(
      () => loadInventory(resolveInventoryPath('prod'), { vaultPassword: () => 'unused' }),
      (error: unknown) => error instanceof InventoryError && /prod\.vault\.yaml cannot be read/.test(error.message),
    );
  });

  it('when an inventory is valid, then defaults are filled and vars merge inventory < group < host', () => {
    const inventory = parseInventory(good, 'good.yaml');
    assert.deepEqual(inventory.bastion, { host: 'bastion.example', port: 22, user: 'ops' });
    assert.equal(inventory.user, 'admin');
    const [web1, db1] = hostsOf(inventory);
    assert.deepEqual(web1, {
      name: 'web1',
      address: '10.0.1.10',
      port: 22,
      groups: ['web'],
      vars: { admin_user: 'admin', region: 'eu-west-1' },
    });
    assert.deepEqual(db1?.vars, { admin_user: 'admin', region: 'eu' });
  });

  it('when --limit names a host or a group, then only those hosts are selected; an unknown name is an error', () => {
    const hosts = hostsOf(parseInventory(good, 'good.yaml'));
    assert.deepEqual(
      limitHosts(hosts, ['web']).map((host) => host.name),
      ['web1'],
    );
    assert.deepEqual(
      limitHosts(hosts, ['db1']).map((host) => host.name),
      ['db1'],
    );
    assert.throws(() => limitHosts(hosts, ['nope']), /--limit names no host or group: nope/);
  });

  const bad: { when: string; text: string; path: string; line: number | undefined; reason: RegExp }[] = [
    {
      when: 'the bastion is missing',
      text: 'hosts: { a: { address: 10.0.0.1 } }',
      path: 'bastion',
      line: undefined,
      reason: /expected object/,
    },
    {
      when: 'a port is out of range',
      text: 'bastion: { host: b, user: ops }\nhosts:\n  web1:\n    address: 10.0.0.1\n    port: 70000\n',
      path: 'hosts.web1.port',
      line: 5,
      reason: /<=65535|too big/i,
    },
    {
      when: 'a host is in an undeclared group',
      text: 'bastion: { host: b, user: ops }\nhosts:\n  web1: { address: 10.0.0.1, groups: [web] }\n',
      path: 'hosts.web1.groups.0',
      line: 3,
      reason: /group "web" is not declared/,
    },
    {
      when: 'an address could be read as an option',
      text: 'bastion: { host: b, user: ops }\nhosts:\n  web1: { address: "-oProxyCommand=x" }\n',
      path: 'hosts.web1.address',
      line: 3,
      reason: /host name or an IP address/,
    },
    {
      when: 'a key is misspelt',
      text: 'bastion: { host: b, user: ops }\nhost:\n  web1: { address: 10.0.0.1 }\n',
      path: 'hosts',
      line: undefined,
      reason: /expected record/,
    },
    { when: 'the YAML itself is broken', text: 'bastion: { host: b\nhosts: [', path: '', line: 2, reason: /./ },
  ];
  for (const { when, text, path, line, reason } of bad) {
    it(`when ${when}, then it is rejected with the file, the path and the reason`, () => {
      const error = rejection(text);
      const issue = error.issues.find((candidate) => candidate.path === path);
      assert.ok(issue, `no issue at "${path}" in: ${error.message}`);
      assert.match(issue.message, reason);
      if (line !== undefined) assert.equal(issue.line, line, error.message);
      assert.match(error.message, /^bad\.yaml: invalid inventory/);
    });
  }

  it('when the file does not exist, then it is rejected naming it', () => {
    assert.throws(
      () => loadInventory('/nonexistent/inventory.yaml'),
      (error: unknown) => error instanceof InventoryError && error.file === '/nonexistent/inventory.yaml',
    );
  });
});
