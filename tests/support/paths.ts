import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The tag of the images this checkout builds (`refereezy/<service>:<tag>`), as docker-compose.yml
 * reads it: IMAGE_TAG, `dev` by default. Checkouts side by side on one machine set their own.
 */
export const imageTag = process.env.IMAGE_TAG ?? 'dev';
