// npm run architecture            writes docs/architecture.md from the layout and the security groups
// npm run architecture -- --check exits 1 when the committed file is not what they render
import { readFileSync, writeFileSync } from 'node:fs';
import { loadSecurityGroups } from '../security-groups/schema.js';
import { renderArchitecture } from './lib/architecture.js';
import { loadLayout } from './lib/terraform-model.js';

export const architectureFile = new URL('../docs/architecture.md', import.meta.url);

const check = process.argv.includes('--check');
try {
  const rendered = renderArchitecture(await loadLayout('prod'), loadSecurityGroups());
  if (check) {
    let committed = '';
    try {
      committed = readFileSync(architectureFile, 'utf8');
    } catch {
      // Missing: reported below as out of date.
    }
    if (committed !== rendered) {
      console.error(
        'architecture: docs/architecture.md is not what terraform/envs/prod/hosts.tf and security-groups/security-groups.yaml render: run `npm run architecture`',
      );
      process.exitCode = 1;
    } else console.log('architecture: docs/architecture.md is current');
  } else {
    writeFileSync(architectureFile, rendered);
    console.log('architecture: wrote docs/architecture.md');
  }
} catch (error) {
  console.error(`architecture: ${(error as Error).message}`);
  process.exitCode = 1;
}
