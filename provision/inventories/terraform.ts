import { isMap, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { parseInventory } from './load.js';

/**
 * The inventory from Terraform: `terraform output -json` of an environment (terraform/envs/<env>)
 * names every host it made, with its private address, group (its role) and zone, and the bastion.
 * These functions compare that with an inventory file and bring the file in line, keeping its
 * comments and vars.
 */

const hostName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/);

/** The `inventory` output of terraform/envs/<env>/outputs.tf. */
export const terraformInventorySchema = z.object({
  environment: z.string().min(1),
  region: z.string().min(1),
  hosts: z.record(
    hostName,
    z.object({
      address: z.string().min(1),
      groups: z.array(hostName).min(1),
      zone: z.string().min(1),
      instance_id: z.string().optional(),
      instance_type: z.string().optional(),
    }),
  ),
  bastion: z.object({
    name: hostName,
    host: z.string().min(1),
    private_address: z.string().min(1),
    public_ip: z.string().optional(),
  }),
});
export type TerraformInventory = z.infer<typeof terraformInventorySchema>;

/** `terraform output -json`: every output as { sensitive, type, value }. */
const outputJsonSchema = z.record(z.string(), z.object({ sensitive: z.boolean(), value: z.unknown() }));

/** The inventory output of `terraform output -json`'s text; the error names the file and what is wrong. */
export function parseTerraformOutput(text: string, file: string): TerraformInventory {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not the JSON of \`terraform output -json\`: ${(error as Error).message}`);
  }
  const outputs = outputJsonSchema.safeParse(json);
  if (!outputs.success)
    throw new Error(
      `${file}: not the JSON of \`terraform output -json\` (each output an object with sensitive and value)`,
    );
  const inventory = outputs.data.inventory;
  if (!inventory)
    throw new Error(
      `${file}: has no output "inventory" (terraform/envs/<env>/outputs.tf declares it; outputs here: ${Object.keys(outputs.data).join(', ') || 'none'})`,
    );
  const parsed = terraformInventorySchema.safeParse(inventory.value);
  if (!parsed.success)
    throw new Error(
      `${file}: output "inventory": ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
    );
  return parsed.data;
}

/** One way the inventory file differs from what Terraform made. */
export interface InventoryDifference {
  kind: 'only-in-inventory' | 'only-in-terraform' | 'changed';
  host?: string;
  message: string;
}

/** Every difference between Terraform's hosts and bastion and the inventory's, each naming its host. */
export function inventoryDifferences(
  terraform: TerraformInventory,
  inventoryText: string,
  file: string,
): InventoryDifference[] {
  const inventory = parseInventory(inventoryText, file);
  const differences: InventoryDifference[] = [];
  for (const name of Object.keys(inventory.hosts)) {
    if (!(name in terraform.hosts))
      differences.push({
        kind: 'only-in-inventory',
        host: name,
        message: `host ${name} is in ${file} but Terraform (${terraform.environment}) does not know it`,
      });
  }
  for (const [name, made] of Object.entries(terraform.hosts)) {
    const host = inventory.hosts[name];
    if (!host) {
      differences.push({
        kind: 'only-in-terraform',
        host: name,
        message: `host ${name} (${made.address}, ${made.groups.join(', ')}, ${made.zone}) is in Terraform (${terraform.environment}) but not in ${file}`,
      });
      continue;
    }
    if (host.address !== made.address)
      differences.push({
        kind: 'changed',
        host: name,
        message: `host ${name}: address ${host.address} in ${file}, ${made.address} in Terraform`,
      });
    if (JSON.stringify([...host.groups].sort()) !== JSON.stringify([...made.groups].sort())) {
      differences.push({
        kind: 'changed',
        host: name,
        message: `host ${name}: groups ${host.groups.join(', ') || '(none)'} in ${file}, ${made.groups.join(', ')} in Terraform`,
      });
    }
    if (host.zone !== made.zone)
      differences.push({
        kind: 'changed',
        host: name,
        message: `host ${name}: zone ${host.zone ?? '(none)'} in ${file}, ${made.zone} in Terraform`,
      });
  }
  if (inventory.bastion.host !== terraform.bastion.host)
    differences.push({
      kind: 'changed',
      host: 'bastion',
      message: `bastion.host: ${inventory.bastion.host} in ${file}, ${terraform.bastion.host} in Terraform`,
    });
  if (inventory.bastion.private_address !== terraform.bastion.private_address) {
    differences.push({
      kind: 'changed',
      host: 'bastion',
      message: `bastion.private_address: ${inventory.bastion.private_address ?? '(none)'} in ${file}, ${terraform.bastion.private_address} in Terraform`,
    });
  }
  return differences;
}

/**
 * The inventory file brought in line with Terraform: addresses, groups and zones set, hosts Terraform
 * made added, the bastion's name and address set; comments, vars and the other keys kept. Hosts that
 * Terraform does not know are kept too (removing one is a decision): they stay in the differences.
 */
export function inventoryFromTerraform(terraform: TerraformInventory, inventoryText: string, file: string): string {
  parseInventory(inventoryText, file);
  const document: Document.Parsed = parseDocument(inventoryText);
  document.setIn(['bastion', 'host'], terraform.bastion.host);
  document.setIn(['bastion', 'private_address'], terraform.bastion.private_address);
  for (const [name, made] of Object.entries(terraform.hosts)) {
    const existing = document.getIn(['hosts', name], true);
    if (isMap(existing)) {
      existing.set('address', made.address);
      existing.set('groups', document.createNode(made.groups, { flow: true }));
      existing.set('zone', made.zone);
    } else {
      const node = document.createNode({ address: made.address, groups: made.groups, zone: made.zone }, { flow: true });
      document.setIn(['hosts', name], node);
    }
    for (const group of made.groups) {
      if (!document.hasIn(['groups', group])) document.setIn(['groups', group], document.createNode({}));
    }
  }
  const text = document.toString({ lineWidth: 0, flowCollectionPadding: false });
  parseInventory(text, file);
  return text;
}
