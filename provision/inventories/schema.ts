import { z } from 'zod';
import { address, hostName, loginName, port, vars } from '../validation/validators.js';

// What an inventory file is (load.ts reads and decrypts it, merge.ts gives each host its vars,
// limit.ts applies --limit).

export { vars };
const user = loginName;

export const inventorySchema = z
  .strictObject({
    /** The one SSH entry: every host is reached through it (ProxyJump). */
    bastion: z.strictObject({
      host: address,
      port: port.default(22),
      user,
      /** The address the hosts see the bastion's connections come from (its private IP): the only source SSH admits. */
      private_address: address.optional(),
    }),
    /** The user the provisioner logs in as on every host (sudo without a password). */
    user: user.default('admin'),
    hosts: z.record(
      hostName,
      // zone: the availability zone Terraform placed the host in (npm run inventory:from-terraform).
      z.strictObject({
        address,
        port: port.default(22),
        groups: z.array(hostName).default([]),
        zone: z
          .string()
          .regex(/^[a-z0-9-]+$/, 'a zone such as eu-west-1a')
          .optional(),
        vars: vars.default({}),
      }),
    ),
    groups: z.record(hostName, vars).default({}),
    vars: vars.default({}),
    /**
     * An Ansible Vault file of vars (the secrets), relative to this file: decrypted at load time, its
     * vars win over `vars:` above; groups' and hosts' vars still override them.
     */
    vault: z.string().regex(/^[^/]/, 'a vault file is named relative to the inventory').optional(),
  })
  .superRefine((inventory, context) => {
    for (const [name, host] of Object.entries(inventory.hosts)) {
      host.groups.forEach((group, index) => {
        if (!(group in inventory.groups)) {
          context.addIssue({
            code: 'custom',
            path: ['hosts', name, 'groups', index],
            message: `group "${group}" is not declared under groups:`,
          });
        }
      });
    }
    if (Object.keys(inventory.hosts).length === 0)
      context.addIssue({ code: 'custom', path: ['hosts'], message: 'an inventory names at least one host' });
  });

export type Inventory = z.output<typeof inventorySchema>;

export interface Host {
  name: string;
  address: string;
  port: number;
  groups: string[];
  /** Inventory vars, then each group's in the host's order, then the host's own: the last wins. */
  vars: Record<string, unknown>;
}

export interface LoadedInventory extends Inventory {
  file: string;
}
