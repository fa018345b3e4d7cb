import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Host } from '../../inventories/schema.js';
import { packages } from '../../operations/apt.js';
import { command } from '../../operations/command.js';
import { directory, file } from '../../operations/files.js';
import { run } from '../../operations/operation.js';
import { service } from '../../operations/systemd.js';
import { group, user } from '../../operations/users.js';
import type { Role, Task } from '../role.js';

/** The one sshd_config of the platform: the bastion image's, rendered here as it is (no second copy). */
export const sshdConfigSource = new URL('../../../compose/bastion/sshd_config', import.meta.url);

const vars = z.object({
  admin_user: z.string().regex(/^[a-z_][a-z0-9_-]*$/).default('admin'),
  admin_authorized_keys: z.array(z.string().regex(/^(ssh-ed25519|ecdsa-sha2-nistp256|rsa-sha2-512|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$/, 'an OpenSSH public key line')).min(1),
});

/** The path sshd_config reads its host key from: the host's own key is kept there. */
const hostKey = '/etc/ssh/host_keys/ssh_host_ed25519_key';

function tasks(host: Host): Task[] {
  const parsed = vars.safeParse(host.vars);
  if (!parsed.success) {
    throw new Error(`host ${host.name}: role common: ${parsed.error.issues.map((issue) => `vars.${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  const { admin_user: admin, admin_authorized_keys: keys } = parsed.data;
  const home = `/home/${admin}`;
  return [
    { name: 'Install OpenSSH and sudo', operation: packages({ packages: ['openssh-server', 'sudo'], present: true }) },
    { name: 'Create the ssh-users group (sshd admits only its members)', operation: group({ name: 'ssh-users', system: true }) },
    { name: `Create the admin user ${admin} in ssh-users`, operation: user({ name: admin, groups: ['ssh-users'] }) },
    {
      name: `Let ${admin} use sudo without a password`,
      operation: file({ path: '/etc/sudoers.d/90-refereezy-admins', content: `${admin} ALL=(ALL) NOPASSWD:ALL\n`, mode: '0440' }),
    },
    { name: `Create ${home}/.ssh`, operation: directory({ path: `${home}/.ssh`, owner: admin, group: admin, mode: '0700' }) },
    {
      name: `Authorize the operators' keys for ${admin}`,
      operation: file({ path: `${home}/.ssh/authorized_keys`, content: `${keys.join('\n')}\n`, owner: admin, group: admin, mode: '0600' }),
    },
    { name: 'Create the host key directory sshd_config names', operation: directory({ path: '/etc/ssh/host_keys', mode: '0755' }) },
    {
      name: "Keep the host's own ed25519 key where sshd_config reads it",
      // The host keeps its identity (its known_hosts entry stays valid) across the new sshd_config.
      operation: command({ argv: ['install', '-m', '0600', '--', '/etc/ssh/ssh_host_ed25519_key', hostKey], unless: ['test', '-s', hostKey] }),
    },
    {
      name: 'Render sshd_config (keys only, no root, modern algorithms)',
      operation: file({ path: '/etc/ssh/sshd_config', content: readFileSync(sshdConfigSource, 'utf8'), mode: '0644' }),
      notify: ['reload sshd'],
    },
    { name: 'Keep sshd enabled and running', operation: service({ unit: 'ssh.service', enabled: true, running: true }) },
  ];
}

/** Every host: the admin user and its keys, and SSH hardened with the bastion's sshd_config. */
export const common: Role = {
  name: 'common',
  tasks,
  handlers: {
    // Checked before the reload: a config sshd rejects never replaces the running one.
    'reload sshd': { name: 'reload sshd', commands: [run('sshd', '-t'), run('systemctl', 'reload', 'ssh.service')] },
  },
};
