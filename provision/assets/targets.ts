import { execFile } from 'node:child_process';
import { Agent } from 'node:https';
import { checkServerIdentity } from 'node:tls';
import { promisify } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { readInventory, resolveInventoryPath } from '../inventories/load.js';
import { AssetsError } from './bundle.js';
import type { AssetsBucket } from './publish.js';

const run = promisify(execFile);

/** The replica's assets bucket (docker-compose.yml, service s3: S3_BUCKETS). */
export const replicaAssetsBucket = 'refereezy-assets';
/** The name on the replica store's certificate (compose/s3/entrypoint.sh). */
const replicaS3Name = 's3';

const containerSchema = z.object({
  Config: z.object({ Env: z.array(z.string()), Labels: z.record(z.string(), z.string()) }),
  NetworkSettings: z.object({ Networks: z.record(z.string(), z.object({ IPAddress: z.string() })) }),
});

/**
 * The replica's store, as the stack runs it (docker compose, COMPOSE_PROJECT_NAME as for every
 * compose command): its address on the private network (the Docker host reaches it there; nothing
 * is published), its key pair as the container has it, and its CA (the s3_ca volume), so the
 * upload goes over the store's TLS, verified against the name on its certificate.
 */
export async function replicaBucket(repoRoot: string): Promise<AssetsBucket> {
  const compose = async (args: string[]) =>
    (await run('docker', ['compose', ...args], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 })).stdout;
  let id: string;
  try {
    id = (await compose(['ps', '--quiet', '--status', 'running', 's3'])).trim();
  } catch (error) {
    throw new AssetsError(`replica: docker compose ps failed: ${(error as Error).message.split('\n')[0] ?? ''}`);
  }
  if (id === '') throw new AssetsError('replica: the s3 service is not running (start the replica: npm run stack)');
  const [inspected] = z.array(containerSchema).parse(JSON.parse((await run('docker', ['inspect', id])).stdout));
  if (!inspected) throw new AssetsError(`replica: docker inspect ${id} returned nothing`);
  const project = inspected.Config.Labels['com.docker.compose.project'] ?? '';
  const address = inspected.NetworkSettings.Networks[`${project}_private`]?.IPAddress;
  if (!address) throw new AssetsError(`replica: the s3 container is not on the network ${project}_private`);
  const env = Object.fromEntries(
    inspected.Config.Env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
  const accessKeyId = env.S3_ACCESS_KEY;
  const secretAccessKey = env.S3_SECRET_KEY;
  if (!accessKeyId || !secretAccessKey)
    throw new AssetsError('replica: the s3 container has no S3_ACCESS_KEY/S3_SECRET_KEY');
  const ca = await compose(['exec', '-T', 's3', 'cat', '/var/lib/s3/ca/ca.crt']);
  const httpsAgent = new Agent({
    ca,
    keepAlive: true,
    servername: replicaS3Name,
    checkServerIdentity: (_host, certificate) => checkServerIdentity(replicaS3Name, certificate),
  });
  const endpoint = `https://${address}`;
  return {
    name: `replica (${project})`,
    bucket: replicaAssetsBucket,
    endpoint: `https://${replicaS3Name} (${address})`,
    client: new S3Client({
      region: 'eu-west-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
      requestHandler: { httpsAgent },
    }),
  };
}

const inventoryVars = z.object({
  /** terraform output buckets.assets (terraform/modules/storage: <name>-assets). */
  assets_bucket: z
    .string({ error: 'required: the assets bucket (terraform output buckets.assets, e.g. refereezy-prod-assets)' })
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'),
  assets_region: z
    .string({ error: 'required: the bucket’s region (e.g. eu-west-1)' })
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region, e.g. eu-west-1'),
  /** Another S3 endpoint (a local AWS API emulator); production: the region's own. */
  assets_endpoint_url: z.url({ protocol: /^https?$/ }).optional(),
});

/**
 * An inventory's assets bucket (its vars assets_bucket, assets_region), reached with the AWS SDK's
 * own credential chain: the operator's profile or CI's role (AWS_PROFILE, AWS_* variables, SSO).
 * No host is contacted and no vault is opened: publishing needs no secret of the inventory's.
 */
export function inventoryBucket(nameOrPath: string): AssetsBucket {
  const file = resolveInventoryPath(nameOrPath);
  const inventory = readInventory(file);
  const parsed = inventoryVars.safeParse(inventory.vars);
  if (!parsed.success)
    throw new AssetsError(
      `${file}: ${parsed.error.issues.map((issue) => `vars.${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
    );
  const { assets_bucket: bucket, assets_region: region, assets_endpoint_url: endpoint } = parsed.data;
  return {
    name: file,
    bucket,
    endpoint: endpoint ?? `S3 in ${region}`,
    client: new S3Client({ region, ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }) }),
  };
}
