import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Host } from '../../../provision/inventories/schema.js';
import { bastion } from '../../../provision/roles/bastion/index.js';

const operatorKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK4bB3JqU0l8cZr2Q8kq0m9o5vR0yZ2b1x3n5d7f9h1j ops@refereezy';
const jumpKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake jump@refereezy';
const host = (vars: Record<string, unknown>): Host => ({
  name: 'bastion1',
  address: '10.0.0.10',
  port: 22,
  groups: ['bastion'],
  vars,
});

/** The authorized_keys the role would write on a host that has none. */
function authorizedKeys(target: Host): string {
  const task = bastion.tasks(target, { hosts: [target] }).find((candidate) => candidate.name.startsWith('Authorize'));
  assert.ok(task);
  const write = task.operation.plan(null).commands[0];
  assert.deepEqual(write?.argv.slice(5, 8), ['0600', 'ops', 'ops']);
  return String(write.stdin);
}

describe('bastion role', () => {
  it("when only the operators' admin keys are set, then ops, in ssh-users and ssh-jump, with no shell, may jump with them", () => {
    const tasks = bastion.tasks(host({ admin_authorized_keys: [operatorKey] }), { hosts: [] });
    assert.deepEqual(
      tasks.map((task) => task.name),
      [
        'Create the ssh-jump group (sshd lets its members jump, nothing else)',
        'Create the jump user ops in ssh-users and ssh-jump, with no shell',
        'Create /home/ops/.ssh',
        "Authorize the operators' keys for ops (to jump; no sudo)",
      ],
    );
    assert.deepEqual(
      tasks[1]?.operation.plan(null).commands.map((command) => command.argv.join(' ')),
      ['useradd --create-home --shell /usr/sbin/nologin --groups ssh-users,ssh-jump -- ops'],
    );
    assert.equal(authorizedKeys(host({ admin_authorized_keys: [operatorKey] })), `${operatorKey}\n`);
  });

  it('when bastion_user and bastion_authorized_keys are set, then they win', () => {
    const target = host({
      admin_authorized_keys: [operatorKey],
      bastion_user: 'jump',
      bastion_authorized_keys: [jumpKey],
    });
    const tasks = bastion.tasks(target, { hosts: [] });
    assert.match(tasks[1]?.name ?? '', /^Create the jump user jump /);
    assert.match(tasks[3]?.name ?? '', /for jump /);
  });

  it('when no key is given, or the jump user is the admin, then the error names the host, the role and the var', () => {
    assert.throws(
      () => bastion.tasks(host({}), { hosts: [] }),
      /^Error: host bastion1: role bastion: vars\.bastion_authorized_keys: required \(or admin_authorized_keys\)/,
    );
    assert.throws(
      () => bastion.tasks(host({ admin_authorized_keys: [operatorKey], bastion_user: 'admin' }), { hosts: [] }),
      /host bastion1: role bastion: vars\.bastion_user: must differ from admin_user \(admin\)/,
    );
    assert.throws(
      () => bastion.tasks(host({ bastion_authorized_keys: ['not a key'] }), { hosts: [] }),
      /host bastion1: role bastion: vars\.bastion_authorized_keys\.0: an OpenSSH public key line/,
    );
  });

  it('when declared, then SSH is open to anyone, and nothing else', () => {
    assert.deepEqual(
      bastion.ingress?.map((rule) => [rule.port, rule.from]),
      [[22, 'anywhere']],
    );
    assert.deepEqual(bastion.handlers, {});
  });
});
