import { z } from 'zod';
import type { Host } from '../../inventories/schema.js';
import { directory, file } from '../../operations/files.js';
import { group, user } from '../../operations/users.js';
import { authorizedKeys as keys } from '../../validation/keys.js';
import { loginName } from '../../validation/validators.js';
import type { IngressRule, Role, Task } from '../role.js';
import { roleVars } from '../vars.js';

const vars = z
  .object({
    /** The operators' jump user (the inventory's bastion.user): what BASTION_USER is to the image. */
    bastion_user: loginName.default('ops'),
    /** Its keys (BASTION_AUTHORIZED_KEYS to the image); default: admin_authorized_keys, the same operators. */
    bastion_authorized_keys: keys.optional(),
    admin_authorized_keys: keys.optional(),
    admin_user: loginName.default('admin'),
  })
  .superRefine((value, context) => {
    if (value.bastion_authorized_keys === undefined && value.admin_authorized_keys === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['bastion_authorized_keys'],
        message: 'required (or admin_authorized_keys): the keys that may jump',
      });
    }
    if (value.bastion_user === value.admin_user) {
      context.addIssue({
        code: 'custom',
        path: ['bastion_user'],
        message: `must differ from admin_user (${value.admin_user}): the jump user has no sudo`,
      });
    }
  });

function tasks(host: Host): Task[] {
  const settings = roleVars(vars, host, 'bastion');
  const jump = settings.bastion_user;
  const authorized = settings.bastion_authorized_keys ?? settings.admin_authorized_keys ?? [];
  const home = `/home/${jump}`;
  // What compose/bastion/entrypoint.sh does for BASTION_USER; sshd_config, the host key and ssh-users
  // come from the common role. sshd_config's `Match Group ssh-jump` forces nologin on every session.
  return [
    {
      name: 'Create the ssh-jump group (sshd lets its members jump, nothing else)',
      operation: group({ name: 'ssh-jump', system: true }),
    },
    {
      name: `Create the jump user ${jump} in ssh-users and ssh-jump, with no shell`,
      operation: user({ name: jump, groups: ['ssh-users', 'ssh-jump'], shell: '/usr/sbin/nologin' }),
    },
    {
      name: `Create ${home}/.ssh`,
      operation: directory({ path: `${home}/.ssh`, owner: jump, group: jump, mode: '0700' }),
    },
    {
      name: `Authorize the operators' keys for ${jump} (to jump; no sudo)`,
      operation: file({
        path: `${home}/.ssh/authorized_keys`,
        content: `${authorized.join('\n')}\n`,
        owner: jump,
        group: jump,
        mode: '0600',
      }),
    },
  ];
}

const ingress: IngressRule[] = [{ port: 22, from: 'anywhere', why: "SSH: the operators' one way in (keys only)" }];

/**
 * The bastion: the operators' jump user (no shell; forwarding only to the destinations the common
 * role's sshd_config permits on a bastion) on the shared, hardened sshd, open to the world on 22.
 */
export const bastion: Role = { name: 'bastion', ingress, tasks, handlers: {} };
