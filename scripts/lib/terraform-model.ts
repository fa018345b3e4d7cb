import { parse } from '@cdktf/hcl2json';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The repo's terraform/ directory. */
export const terraformRoot = fileURLToPath(new URL('../../terraform', import.meta.url));

/** One block of HCL as JSON (hcl2json): attributes as values, nested blocks as arrays of objects. */
export type HclBody = Record<string, unknown>;

/** A file's HCL as hcl2json renders it (resource.<type>.<name>[0], locals[], module.<name>[0], …). */
export interface HclFile {
  file: string;
  json: Record<string, unknown>;
}

/** Every .tf file of a directory, parsed offline (the WASM build of HashiCorp's HCL parser); .tf.json as JSON. */
export async function parseDirectory(directory: string): Promise<HclFile[]> {
  const files = readdirSync(directory)
    .filter((name) => name.endsWith('.tf') || name.endsWith('.tf.json'))
    .sort();
  return Promise.all(
    files.map(async (name) => {
      const file = path.join(directory, name);
      const text = readFileSync(file, 'utf8');
      try {
        const json = name.endsWith('.tf.json')
          ? (JSON.parse(text) as Record<string, unknown>)
          : await parse(file, text);
        return { file: path.relative(path.dirname(terraformRoot), file), json };
      } catch (error) {
        throw new Error(`${file}: not valid HCL: ${String(error)}`);
      }
    }),
  );
}

export interface HclResource {
  type: string;
  name: string;
  file: string;
  body: HclBody;
}

/** Every `resource` (or `data`) block of the files. */
export function blocksOf(files: readonly HclFile[], kind: 'resource' | 'data' | 'module'): HclResource[] {
  return files.flatMap(({ file, json }) => {
    const section = json[kind] as Record<string, Record<string, HclBody[]> | HclBody[]> | undefined;
    if (!section) return [];
    if (kind === 'module')
      return Object.entries(section as Record<string, HclBody[]>).map(([name, bodies]) => ({
        type: 'module',
        name,
        file,
        body: bodies[0] ?? {},
      }));
    return Object.entries(section as Record<string, Record<string, HclBody[]>>).flatMap(([type, named]) =>
      Object.entries(named).map(([name, bodies]) => ({ type, name, file, body: bodies[0] ?? {} })),
    );
  });
}

/** The `locals` of the files, merged. */
export function localsOf(files: readonly HclFile[]): Record<string, unknown> {
  const blocks = files.flatMap(({ json }): object[] => {
    const locals = json.locals;
    if (Array.isArray(locals)) return locals as object[];
    return locals && typeof locals === 'object' ? [locals] : [];
  });
  return Object.assign({}, ...blocks) as Record<string, unknown>;
}

/** An environment's layout (terraform/envs/<env>/hosts.tf): what it builds where. */
export const layoutSchema = z.object({
  environment: z.string(),
  region: z.string(),
  dr_region: z.string(),
  zones: z.tuple([z.string(), z.string()]),
  domain: z.string(),
  vpc_cidr: z.string(),
  subnets: z.record(z.enum(['public', 'web', 'app', 'data']), z.tuple([z.string(), z.string()])),
  hosts: z.record(
    z.string(),
    z.object({
      role: z.string(),
      /** The host's other provisioning groups, each also its security group (mail1: also = ["deadman"]). */
      also: z.array(z.string()).default([]),
      instance_type: z.string(),
      volume_size_gb: z.number().int().positive(),
      subnet: z.string().regex(/^(public|web|app|data)-[ab]$/),
      address: z.string(),
    }),
  ),
});
export type Layout = z.infer<typeof layoutSchema>;

/** A host's provisioning groups, each its security group too: its role, then its `also` (the compute module's order). */
export function hostGroups(host: Layout['hosts'][string]): string[] {
  return [host.role, ...host.also];
}

export async function loadLayout(environment: string): Promise<Layout> {
  const directory = path.join(terraformRoot, 'envs', environment);
  const locals = localsOf(await parseDirectory(directory));
  const parsed = layoutSchema.safeParse(locals);
  if (!parsed.success)
    throw new Error(
      `terraform/envs/${environment}: its locals are not a layout: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
    );
  return parsed.data;
}

/** The EC2 instance types the layouts use: vCPUs and memory (GiB), as AWS publishes them. */
export const instanceTypes: Readonly<Record<string, { vcpu: number; memoryGiB: number }>> = {
  't3.micro': { vcpu: 2, memoryGiB: 1 },
  't3.small': { vcpu: 2, memoryGiB: 2 },
  't3.medium': { vcpu: 2, memoryGiB: 4 },
  'c6i.large': { vcpu: 2, memoryGiB: 4 },
  'c6i.xlarge': { vcpu: 4, memoryGiB: 8 },
  'c6i.2xlarge': { vcpu: 8, memoryGiB: 16 },
  'm6i.large': { vcpu: 2, memoryGiB: 8 },
  'r6i.large': { vcpu: 2, memoryGiB: 16 },
  'r6i.xlarge': { vcpu: 4, memoryGiB: 32 },
};

export function sizeOf(instanceType: string): { vcpu: number; memoryGiB: number } {
  const size = instanceTypes[instanceType];
  if (!size)
    throw new Error(
      `instance type ${instanceType}: not in scripts/lib/terraform-model.ts's table (add its vCPUs and memory)`,
    );
  return size;
}

/**
 * What `terraform output -json`'s inventory will say once the layout is applied (less the instance
 * ids and public address, which only AWS knows): lets a test hold each inventory to its layout
 * before anything is applied.
 */
export function expectedInventory(layout: Layout): {
  environment: string;
  region: string;
  hosts: Record<string, { address: string; groups: string[]; zone: string; instance_type: string }>;
  bastion: { name: string; host: string; private_address: string };
} {
  const zoneOf = (subnet: string) => layout.zones[subnet.endsWith('-a') ? 0 : 1];
  const bastion = Object.entries(layout.hosts).find(([, host]) => host.role === 'bastion');
  if (!bastion) throw new Error(`terraform/envs/${layout.environment}: the layout has no bastion`);
  return {
    environment: layout.environment,
    region: layout.region,
    hosts: Object.fromEntries(
      Object.entries(layout.hosts).map(([name, host]) => [
        name,
        {
          address: host.address,
          groups: hostGroups(host),
          zone: zoneOf(host.subnet),
          instance_type: host.instance_type,
        },
      ]),
    ),
    bastion: { name: bastion[0], host: `bastion.${layout.domain}`, private_address: bastion[1].address },
  };
}
