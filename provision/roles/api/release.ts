import type { NodePackage } from '../../releases/node-release.js';
import { inputKey as packageInputKey } from '../../releases/node-release.js';

/** The API as compose/api/Dockerfile builds it: dist/, the production node_modules, package.json and the migrations. */
export const apiPackage: NodePackage = {
  name: 'api',
  title: 'API',
  dir: 'api',
  assets: ['migrations'],
  dockerfile: 'compose/api/Dockerfile',
};

/** The key of the API's sources (the cached artifact's name). */
export const inputKey = (): string => packageInputKey(apiPackage);
