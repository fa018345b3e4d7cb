// npm run security-groups -- generate   renders the source into Terraform and the README's table
// npm run security-groups -- check      exits 1 naming every rule on which the four expressions disagree
import { readFileSync, writeFileSync } from 'node:fs';
import { roleRegistry } from '../provision/roles/index.js';
import { checkCompose, checkReadme, checkRoles, checkTerraform, updateReadme } from './consistency.js';
import { loadSecurityGroups, SecurityGroupsError } from './schema.js';
import { renderTerraform, renderedFile } from './terraform.js';

const readmeFile = new URL('../README.md', import.meta.url);
const composeFile = new URL('../docker-compose.yml', import.meta.url);
/** The overlays whose services and networks the replica also runs (the HA database). */
export const composeOverlays = [new URL('../docker-compose.ha.yml', import.meta.url)];

/** Every disagreement between the source and the Terraform rules, the roles, the replica and the README. */
export function checkAll(): string[] {
  const source = loadSecurityGroups();
  return [
    ...checkTerraform(source, readFileSync(renderedFile, 'utf8')),
    ...checkRoles(source, roleRegistry()),
    ...checkCompose(source, ...[composeFile, ...composeOverlays].map((file) => readFileSync(file, 'utf8'))),
    ...checkReadme(source, readFileSync(readmeFile, 'utf8')),
  ];
}

function main(command: string | undefined): number {
  if (command === 'generate') {
    const source = loadSecurityGroups();
    writeFileSync(renderedFile, renderTerraform(source));
    writeFileSync(readmeFile, updateReadme(source, readFileSync(readmeFile, 'utf8')));
    console.log('security-groups: wrote terraform/modules/security/rules.tf.json and the README table');
    return 0;
  }
  if (command === 'check') {
    const problems = checkAll();
    for (const problem of problems) console.error(`security-groups: ${problem}`);
    if (problems.length === 0)
      console.log(
        'security-groups: Terraform, the roles, docker-compose.yml (with docker-compose.ha.yml) and the README agree with security-groups/security-groups.yaml',
      );
    return problems.length === 0 ? 0 : 1;
  }
  console.error('usage: npm run security-groups -- generate|check');
  return 2;
}

try {
  process.exitCode = main(process.argv[2]);
} catch (error) {
  console.error(error instanceof SecurityGroupsError ? error.message : error);
  process.exitCode = 1;
}
