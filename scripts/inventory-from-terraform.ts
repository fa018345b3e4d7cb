// npm run inventory:from-terraform -- <terraform output json> [--env prod|staging|<inventory file>] [--check | --write]
//
//   terraform -chdir=terraform/envs/prod output -json > /tmp/prod-output.json
//   npm run inventory:from-terraform -- /tmp/prod-output.json --check   # exit 1 naming every difference
//   npm run inventory:from-terraform -- /tmp/prod-output.json --write   # update provision/inventories/prod.yaml
//
// --check is the default. --write keeps a host that Terraform does not know (removing one is an
// operator's decision), and still exits 1 naming it.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveInventoryPath } from '../provision/inventories/load.js';
import {
  inventoryDifferences,
  inventoryFromTerraform,
  parseTerraformOutput,
} from '../provision/inventories/terraform.js';

function main(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      env: { type: 'string' },
      check: { type: 'boolean', default: false },
      write: { type: 'boolean', default: false },
    },
  });
  const [outputFile] = positionals;
  if (!outputFile || positionals.length > 1 || (values.check && values.write)) {
    console.error(
      'usage: npm run inventory:from-terraform -- <terraform output -json file> [--env <name or inventory file>] [--check | --write]',
    );
    return 2;
  }
  const terraform = parseTerraformOutput(readFileSync(outputFile, 'utf8'), outputFile);
  const inventoryFile = resolveInventoryPath(values.env ?? terraform.environment);
  const relative = inventoryFile.replace(`${process.cwd()}/`, '');
  const text = readFileSync(inventoryFile, 'utf8');

  if (values.write) {
    const updated = inventoryFromTerraform(terraform, text, relative);
    if (updated !== text) writeFileSync(inventoryFile, updated);
    const left = inventoryDifferences(terraform, updated, relative);
    for (const difference of left)
      console.error(`inventory:from-terraform: ${difference.message} (kept: remove it by hand if it is gone)`);
    console.log(
      `inventory:from-terraform: ${updated === text ? `${relative} already matches Terraform` : `updated ${relative}`}`,
    );
    return left.length === 0 ? 0 : 1;
  }

  const differences = inventoryDifferences(terraform, text, relative);
  for (const difference of differences) console.error(`inventory:from-terraform: ${difference.message}`);
  if (differences.length === 0)
    console.log(
      `inventory:from-terraform: ${relative} matches Terraform (${Object.keys(terraform.hosts).length} hosts and the bastion)`,
    );
  return differences.length === 0 ? 0 : 1;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  console.error(`inventory:from-terraform: ${(error as Error).message}`);
  process.exitCode = 1;
}
