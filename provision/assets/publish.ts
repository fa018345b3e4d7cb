import { HeadObjectCommand, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import type { AssetObject } from './bundle.js';

/** Where the objects go: a bucket, through a client, with a name for messages (replica, prod.yaml). */
export interface AssetsBucket {
  name: string;
  bucket: string;
  client: S3Client;
  /** The endpoint, for messages (https://s3 in the replica, the region's in production). */
  endpoint: string;
}

export interface PublishStep {
  key: string;
  changed: boolean;
  /** Why: "absent", "content differs (sha256 …)", or "unchanged (sha256 …)". */
  reason: string;
}

/** A failed request to the bucket: which target, which key, which call, and S3's own answer. */
export class BucketError extends Error {}

function describe(error: unknown): string {
  if (error instanceof S3ServiceException)
    return `${error.name} (HTTP ${error.$metadata.httpStatusCode ?? '?'}): ${error.message}`;
  const cause = (error as { cause?: unknown }).cause;
  return `${(error as Error).message}${cause instanceof Error ? ` (${cause.message})` : ''}`;
}

/** What a key holds now: its sha256 metadata and headers, or null when absent. */
async function current(
  target: AssetsBucket,
  key: string,
): Promise<{ sha256?: string; contentType?: string; cacheControl?: string } | null> {
  try {
    const head = await target.client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: key }));
    return {
      ...(head.Metadata?.sha256 === undefined ? {} : { sha256: head.Metadata.sha256 }),
      ...(head.ContentType === undefined ? {} : { contentType: head.ContentType }),
      ...(head.CacheControl === undefined ? {} : { cacheControl: head.CacheControl }),
    };
  } catch (error) {
    if (error instanceof S3ServiceException && (error.$metadata.httpStatusCode === 404 || error.name === 'NotFound'))
      return null;
    throw new BucketError(
      `${target.name}: HEAD s3://${target.bucket}/${key} at ${target.endpoint} failed: ${describe(error)}`,
    );
  }
}

/** Plan (probe), then act: each object is put only when absent or different; `check` puts nothing. */
export async function publishAssets(
  target: AssetsBucket,
  objects: readonly AssetObject[],
  { check = false, progress = (_line: string) => {} } = {},
): Promise<PublishStep[]> {
  const steps: PublishStep[] = [];
  for (const object of objects) {
    const now = await current(target, object.key);
    const reason =
      now === null
        ? 'absent'
        : now.sha256 !== object.sha256
          ? `content differs (sha256 ${now.sha256?.slice(0, 12) ?? 'unknown'} → ${object.sha256.slice(0, 12)})`
          : now.contentType !== object.contentType || now.cacheControl !== object.cacheControl
            ? `headers differ (${now.contentType ?? '-'}, ${now.cacheControl ?? '-'})`
            : undefined;
    if (reason === undefined) {
      steps.push({ key: object.key, changed: false, reason: `unchanged (sha256 ${object.sha256.slice(0, 12)})` });
      continue;
    }
    steps.push({ key: object.key, changed: true, reason });
    progress(`${check ? 'would put' : 'put'} s3://${target.bucket}/${object.key}: ${reason}`);
    if (check) continue;
    try {
      await target.client.send(
        new PutObjectCommand({
          Bucket: target.bucket,
          Key: object.key,
          Body: object.body,
          ContentType: object.contentType,
          CacheControl: object.cacheControl,
          Metadata: { sha256: object.sha256 },
        }),
      );
    } catch (error) {
      throw new BucketError(
        `${target.name}: PUT s3://${target.bucket}/${object.key} at ${target.endpoint} failed: ${describe(error)} (objects before it in the list were published; re-run to finish)`,
      );
    }
  }
  return steps;
}
