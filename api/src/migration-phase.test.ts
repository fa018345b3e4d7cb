import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { migrationsDir } from './migrate.js';
import { destructiveStatements, migrationPhase, selectMigrations } from './migration-phase.js';

const files = ['1_referees', '2_matches', '3_contract_drop_old', '4_add_index'];

describe('expand/contract migrations', () => {
  it('when a migration is named <ts>_contract_…, then it is a contract migration; otherwise expand', () => {
    assert.equal(migrationPhase('1764000000009_contract_drop_referee_phone'), 'contract');
    assert.equal(migrationPhase('1764000000003_hardening'), 'expand');
  });

  const table: { name: string; applied: string[]; phase: 'expand' | 'contract'; apply: string[]; waiting: string[] }[] =
    [
      { name: 'expand with nothing pending', applied: files, phase: 'expand', apply: [], waiting: [] },
      {
        name: 'expand with only expand pending',
        applied: ['1_referees'],
        phase: 'expand',
        apply: ['2_matches'],
        waiting: ['3_contract_drop_old', '4_add_index'],
      },
      {
        name: 'expand when a contract one is next',
        applied: ['1_referees', '2_matches'],
        phase: 'expand',
        apply: [],
        waiting: ['3_contract_drop_old', '4_add_index'],
      },
      {
        name: 'contract applies every pending one in order',
        applied: ['1_referees'],
        phase: 'contract',
        apply: ['2_matches', '3_contract_drop_old', '4_add_index'],
        waiting: [],
      },
      {
        name: 'expand after the contract step',
        applied: files.slice(0, 3),
        phase: 'expand',
        apply: ['4_add_index'],
        waiting: [],
      },
    ];
  for (const row of table) {
    it(`when ${row.name}, then it applies [${row.apply.join(', ')}] and leaves [${row.waiting.join(', ')}]`, () => {
      assert.deepEqual(selectMigrations(files, row.applied, row.phase), { apply: row.apply, waiting: row.waiting });
    });
  }

  it('when an expand migration drops, renames or narrows, then it is flagged; the Down part and comments are not', () => {
    assert.deepEqual(destructiveStatements('ALTER TABLE referee DROP COLUMN phone;'), ['drops']);
    assert.deepEqual(destructiveStatements('ALTER TABLE referee ALTER COLUMN email SET NOT NULL;'), [
      'makes a column NOT NULL',
    ]);
    assert.deepEqual(destructiveStatements('ALTER TABLE referee RENAME COLUMN a TO b;'), ['renames']);
    assert.deepEqual(
      destructiveStatements(
        '-- Up Migration\n-- we never DROP here\nALTER TABLE referee ADD COLUMN nickname text;\n-- Down Migration\nALTER TABLE referee DROP COLUMN nickname;',
      ),
      [],
    );
  });

  it("when the repo's migrations are read, then every expand migration is additive (a contract one must be named so)", () => {
    for (const file of readdirSync(migrationsDir).filter((name) => name.endsWith('.sql'))) {
      const name = file.replace(/\.sql$/, '');
      if (migrationPhase(name) === 'contract') continue;
      assert.deepEqual(
        destructiveStatements(readFileSync(join(migrationsDir, file), 'utf8')),
        [],
        `${file} is not additive: name it <timestamp>_contract_… and apply it with \`deploy contract\``,
      );
    }
  });
});
