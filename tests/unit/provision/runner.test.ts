// The runner against a fake Connector (a table of what the host has): which round trips a run costs,
// which commands it runs, and what it reports. The SSH connector and real hosts: tests/integration/provision/runner.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Connector, RunOptions, RunResult } from '../../../provision/core/connector.js';
import { CommandError } from '../../../provision/core/errors.js';
import { pendingHandlersFact, pendingHandlersFile } from '../../../provision/core/pending-handlers.js';
import { converge, type PlannedRole } from '../../../provision/core/runner.js';
import type { Host } from '../../../provision/inventories/schema.js';
import { change, noop, type Operation } from '../../../provision/operations/operation.js';
import type { Role, Task } from '../../../provision/roles/role.js';

/** A host as a map of keys to values: `['get', key]` probes one, `['set', key, value]` changes it. */
class FakeHost implements Connector {
  readonly values: Map<string, string>;
  pending = '';
  readonly probes: string[][][] = [];
  readonly runs: string[][] = [];
  constructor(
    values: Record<string, string>,
    private readonly failing: string[] = [],
  ) {
    this.values = new Map(Object.entries(values));
  }

  probe(commands: readonly (readonly string[])[]): Promise<RunResult[]> {
    this.probes.push(commands.map((argv) => [...argv]));
    return Promise.resolve(
      commands.map((argv) => {
        if (argv.join(' ') === pendingHandlersFact.command.join(' '))
          return { code: 0, stdout: this.pending, stderr: '' };
        if (argv[0] !== 'get' || argv[1] === undefined) throw new Error(`the fake host cannot probe ${argv.join(' ')}`);
        const value = this.values.get(argv[1]);
        return value === undefined ? { code: 1, stdout: '', stderr: '' } : { code: 0, stdout: value, stderr: '' };
      }),
    );
  }

  run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return Promise.resolve(this.apply(argv, options));
  }

  private apply(argv: readonly string[], options: RunOptions): RunResult {
    this.runs.push([...argv]);
    if (argv.includes(pendingHandlersFile) || argv.some((arg) => arg.includes('refereezy-provision'))) {
      if (argv[0] === 'rm') this.pending = '';
      else if (options.stdin !== undefined) this.pending = String(options.stdin);
      return { code: 0, stdout: '', stderr: '' };
    }
    if (this.failing.includes(argv.join(' '))) throw new CommandError('', argv.join(' '), 1, 'it failed');
    if (argv[0] === 'set' && argv[1] !== undefined) this.values.set(argv[1], argv[2] ?? '');
    return { code: 0, stdout: '', stderr: '' };
  }

  close(): void {}

  /** Commands run, the pending-handlers bookkeeping left out. */
  changes(): string[] {
    return this.runs
      .filter((argv) => !argv.includes(pendingHandlersFile) && !argv.some((arg) => arg.includes('refereezy-provision')))
      .map((argv) => argv.join(' '));
  }
}

/** A key holding a value: probe it, set it when it differs. */
function value(key: string, desired: string): Operation<string | null> {
  return {
    fact: { name: `value ${key}`, command: ['get', key], parse: ({ code, stdout }) => (code === 0 ? stdout : null) },
    plan: (current) =>
      current === desired
        ? noop(`${key} is ${desired}`)
        : change(`${key}: ${current ?? 'absent'} → ${desired}`, [{ argv: ['set', key, desired] }]),
  };
}

const host: Host = { name: 'web1', address: '10.0.1.10', port: 22, groups: ['web'], vars: {} };
const role = (tasks: Task[], handlers: Role['handlers'] = {}): PlannedRole[] => [
  { role: { name: 'web', tasks: () => tasks, handlers }, tasks },
];
const reload: Role['handlers'] = { reload: { name: 'reload', commands: [{ argv: ['set', 'reloaded', 'yes'] }] } };
const tasks = (...pairs: [string, string, string[]?][]): Task[] =>
  pairs.map(([key, desired, notify]) => ({
    name: `Set ${key}`,
    operation: value(key, desired),
    ...(notify ? { notify } : {}),
  }));

describe('converge (a fake connector)', () => {
  const cases: {
    when: string;
    values: Record<string, string>;
    tasks: Task[];
    check?: boolean;
    failing?: string[];
    then: { probeRounds: number; changes: string[]; statuses: string[]; status: string };
  }[] = [
    {
      when: 'nothing differs',
      values: { a: '1', b: '2', c: '3' },
      tasks: tasks(['a', '1'], ['b', '2'], ['c', '3', ['reload']]),
      then: { probeRounds: 1, changes: [], statuses: ['ok', 'ok', 'ok'], status: 'ok' },
    },
    {
      when: 'the first task changes something',
      values: { b: '2', c: '3' },
      tasks: tasks(['a', '1', ['reload']], ['b', '2'], ['c', '3']),
      // The facts read before the change are read again, after it: b alone, then c (twice as many: all that is left).
      then: {
        probeRounds: 3,
        changes: ['set a 1', 'set reloaded yes'],
        statuses: ['changed', 'ok', 'ok', 'changed'],
        status: 'changed',
      },
    },
    {
      when: 'checking, with every task to change',
      values: {},
      tasks: tasks(['a', '1', ['reload']], ['b', '2'], ['c', '3']),
      check: true,
      then: { probeRounds: 1, changes: [], statuses: ['changed', 'changed', 'changed', 'changed'], status: 'changed' },
    },
    {
      when: 'a command fails after a change that notified a handler',
      values: {},
      tasks: tasks(['a', '1', ['reload']], ['b', '2'], ['c', '3']),
      failing: ['set b 2'],
      // c never runs; the handler still does.
      then: {
        probeRounds: 2,
        changes: ['set a 1', 'set b 2', 'set reloaded yes'],
        statuses: ['changed', 'failed', 'changed'],
        status: 'failed',
      },
    },
  ];
  for (const { when, values, tasks: planned, check = false, failing, then } of cases) {
    it(`when ${when}, then it takes ${then.probeRounds} probe round trip(s) and runs ${then.changes.length} command(s)`, async () => {
      const fake = new FakeHost(values, failing);
      const recap = await converge(fake, host, role(planned, reload), { check });
      assert.equal(fake.probes.length, then.probeRounds, `probes: ${JSON.stringify(fake.probes)}`);
      assert.deepEqual(fake.changes(), then.changes);
      assert.deepEqual(
        recap.tasks.map((report) => report.status),
        then.statuses,
      );
      assert.equal(recap.status, then.status);
      assert.equal(recap.probes, then.probeRounds);
    });
  }

  it("when a handler is pending from an earlier run, then it runs and leaves the host's pending file", async () => {
    const fake = new FakeHost({ a: '1' });
    fake.pending = 'web/reload\n';
    const recap = await converge(fake, host, role(tasks(['a', '1']), reload), { check: false });
    assert.deepEqual(fake.changes(), ['set reloaded yes']);
    assert.equal(fake.pending, '');
    assert.match(recap.tasks.at(-1)?.reason ?? '', /ran reload \(pending from an earlier run\)/);
  });

  it('when a failed task is reported, then it names the host, the role and the task', async () => {
    const fake = new FakeHost({}, ['set a 1']);
    const recap = await converge(fake, host, role(tasks(['a', '1'])), { check: false });
    const error = recap.error ?? assert.fail('no error reported');
    assert.equal(error.kind, 'command');
    assert.match(error.message, /^web1 \(web: Set a\): `set a 1` exited with 1: it failed$/);
  });

  it('when a host has many tasks and none changes, then every fact is read in the one round trip, the pending handlers included', async () => {
    const keys = Array.from({ length: 60 }, (_, index) => `k${index}`);
    const fake = new FakeHost(Object.fromEntries(keys.map((key) => [key, 'v'])));
    const recap = await converge(fake, host, role(tasks(...keys.map((key): [string, string] => [key, 'v']))), {
      check: false,
    });
    assert.equal(fake.probes.length, 1);
    assert.equal(fake.probes[0]?.length, 61);
    assert.equal(recap.ok, 60);
    assert.deepEqual(Object.keys(recap.phases ?? assert.fail('no phases')), [
      'connect',
      'probe',
      'plan',
      'apply',
      'handlers',
    ]);
  });
});
