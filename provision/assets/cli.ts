// npm run assets -- publish <replica|inventory> [--from DIR] [--check]
// Publishes the web app's static files (web/assets) to the assets bucket, the CDN's origin for
// /assets/: in the replica the s3 service's refereezy-assets (Varnish reads it through the store's
// read-only front), in production the inventory's assets_bucket (CloudFront's origin, Terraform's
// modules/storage and modules/edge). Each file goes under its own name and a content-hashed one,
// with a manifest; a re-run puts only what changed. docs/runbooks/assets.md.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { InventoryError } from '../validation/yaml-file.js';
import { assetObjects, AssetsError } from './bundle.js';
import { BucketError, publishAssets } from './publish.js';
import { inventoryBucket, replicaBucket } from './targets.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const usage = `usage: npm run assets -- publish <replica|inventory> [--from DIR] [--check]
  replica        the replica's store (docker compose, as npm run stack started it)
  inventory      an inventory (prod, staging or a path): its vars assets_bucket and assets_region;
                 AWS credentials from the SDK's chain (AWS_PROFILE, AWS_* variables, SSO, a role)
  --from DIR     the files to publish (default: web/assets)
  --check        print what would be put, put nothing`;

class UsageError extends Error {}

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        from: { type: 'string' },
        check: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help) {
    console.log(usage);
    return 0;
  }
  const [action, target, ...rest] = parsed.positionals;
  if (action !== 'publish')
    throw new UsageError(
      action === undefined ? 'no action: publish' : `unknown action ${JSON.stringify(action)}: publish`,
    );
  if (target === undefined || target === '')
    throw new UsageError('publish needs a target: replica, or an inventory (prod, staging, a path)');
  if (rest.length > 0) throw new UsageError(`unexpected ${rest.map((word) => JSON.stringify(word)).join(' ')}`);
  // Read and checked before anything connects: bad files change nothing anywhere.
  const objects = assetObjects(path.resolve(parsed.values.from ?? path.join(repoRoot, 'web', 'assets')));
  const bucket = target === 'replica' ? await replicaBucket(repoRoot) : inventoryBucket(target);
  try {
    const steps = await publishAssets(bucket, objects, {
      check: parsed.values.check,
      progress: (line) => console.error(`assets: ${line}`),
    });
    const changed = steps.filter((step) => step.changed).length;
    const verb = parsed.values.check ? 'would put' : 'put';
    console.log(
      `assets: ${bucket.name}: s3://${bucket.bucket}/assets/: ${verb} ${changed}, unchanged ${steps.length - changed}`,
    );
  } finally {
    bucket.client.destroy();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) console.error(`assets: ${error.message}\n${usage}`);
    else if (error instanceof AssetsError || error instanceof BucketError || error instanceof InventoryError)
      console.error(`assets: ${error.message}`);
    else console.error(error);
    process.exit(error instanceof UsageError ? 64 : 1);
  },
);
