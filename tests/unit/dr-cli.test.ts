import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decideFailover,
  hasQuorum,
  parseCluster,
  primaryOf,
  splitBrainCheck,
  type EtcdHealth,
} from '../../provision/dr/cluster.js';
import { measure, parseAttempts, type Attempt } from '../../provision/dr/measure.js';
import { parseCommand, UsageError } from '../../provision/dr/options.js';
import { loadProgram } from '../../provision/dr/load.js';
import { ReplicaTarget, type Result } from '../../provision/dr/target.js';
import { patroniRestUser } from '../../provision/roles/patroni/index.js';

/** Patroni 4.0's GET /cluster, trimmed: a primary and its synchronous standby. */
const healthy = parseCluster(
  JSON.stringify({
    members: [
      {
        name: 'db1',
        role: 'leader',
        state: 'running',
        api_url: 'http://db1:8008/patroni',
        host: 'db1',
        port: 5432,
        timeline: 1,
      },
      {
        name: 'db2',
        role: 'sync_standby',
        state: 'streaming',
        api_url: 'http://db2:8008/patroni',
        host: 'db2',
        port: 5432,
        timeline: 1,
        lag: 0,
      },
    ],
    scope: 'refereezy',
  }),
  'test',
);
const primaryGone = parseCluster(
  JSON.stringify({ members: [{ name: 'db2', role: 'sync_standby', state: 'streaming', lag: 0 }] }),
  'test',
);
const quorum: EtcdHealth[] = ['etcd1', 'etcd2', 'etcd3'].map((member) => ({
  member,
  healthy: true,
  detail: '{"health":"true"}',
}));
const noQuorum: EtcdHealth[] = quorum.map((member, index) =>
  index === 0 ? member : { ...member, healthy: false, detail: 'no answer' },
);

describe('dr CLI: options', () => {
  it('when a command and its options are valid, then they are parsed', () => {
    assert.deepEqual(parseCommand(['replica', 'failover', '--candidate', 'db2', '--yes']), {
      target: 'replica',
      command: 'failover',
      candidate: 'db2',
      yes: true,
      production: false,
      scenario: 'zone',
    });
  });

  it('when the command, an option or a node name is wrong, then a usage error says which', () => {
    assert.throws(
      () => parseCommand(['replica', 'explode']),
      (error: Error) => error instanceof UsageError && /must be one of status/.test(error.message),
    );
    assert.throws(
      () => parseCommand(['replica', 'status', '--candidate', 'db2']),
      /--candidate is only for switchover and failover/,
    );
    assert.throws(
      () => parseCommand(['replica', 'switchover', '--candidate', 'DB2; rm -rf /']),
      /--candidate is not a node name/,
    );
    assert.throws(() => parseCommand(['replica', 'status', '--production']), /only for drill/);
    assert.throws(() => parseCommand(['replica']), UsageError);
  });
});

describe('dr CLI: failover decisions', () => {
  it('when etcd has no quorum, then nothing is promoted, whatever the cluster looks like', () => {
    const decision = decideFailover(primaryGone, noQuorum, undefined);
    assert.ok(decision.kind === 'refuse');
    assert.match(
      decision.reason,
      /etcd has no quorum \(etcd2 \(no answer\), etcd3 \(no answer\) unhealthy\): nothing is promoted/,
    );
    assert.equal(hasQuorum(noQuorum), false);
    assert.equal(
      hasQuorum(quorum.map((member, index) => (index === 2 ? { ...member, healthy: false } : member))),
      true,
    );
  });

  it('when the primary is healthy, then a failover needs confirmation and explains the risk', () => {
    const decision = decideFailover(healthy, quorum, undefined);
    assert.ok(decision.kind === 'confirm');
    assert.match(
      decision.risk,
      /db1 is a healthy primary[\s\S]*transactions in flight on db1 are cut[\s\S]*synchronous standby[\s\S]*switchover/,
    );
  });

  it('when the primary is gone, then the synchronous standby is promoted without a question', () => {
    assert.deepEqual(decideFailover(primaryGone, quorum, undefined), { kind: 'go', candidate: 'db2' });
  });

  it('when the candidate is unknown or already primary, then the failover is refused', () => {
    assert.match(JSON.stringify(decideFailover(healthy, quorum, 'db9')), /db9 is not a member/);
    assert.match(JSON.stringify(decideFailover(healthy, quorum, 'db1')), /already the primary/);
    assert.equal(primaryOf(healthy)?.name, 'db1');
  });
});

describe('dr drill: RTO, RPO and split brain', () => {
  const attempt = (seq: number, start: number, end: number, ok: boolean): Attempt => ({
    seq,
    key: `k${seq}`,
    ok,
    status: ok ? 201 : 500,
    start,
    end,
  });
  it('when writes fail after the disaster and resume, then RTO runs from the disaster to the first success after the failures', () => {
    const attempts = [
      attempt(0, 0, 10, true),
      attempt(1, 100, 110, true),
      attempt(2, 1000, 6000, false),
      attempt(3, 6100, 9000, false),
      attempt(4, 9100, 9150, true),
      attempt(5, 9200, 9250, true),
    ];
    const result = measure(attempts, 900, new Set(['k0', 'k1', 'k4', 'k5', 'k3']));
    assert.equal(result.rtoMs, 9150 - 900);
    assert.equal(result.firstFailureMs, 6000 - 900);
    assert.deepEqual(result.lost, []);
    assert.equal(result.committedUnacknowledged, 1);
  });

  it('when an acknowledged write is missing on the new primary, then it is counted lost', () => {
    const result = measure([attempt(0, 0, 10, true), attempt(1, 20, 30, true)], 25, new Set(['k0']));
    assert.deepEqual(result.lost, ['k1']);
    assert.equal(result.rtoMs, undefined);
  });

  it('when the load prints other lines, then only attempts are read', () => {
    assert.equal(parseAttempts(`noise\n${JSON.stringify(attempt(0, 1, 2, true))}\n`).length, 1);
  });

  it('when two nodes or none answer as primary, then it is split brain or no primary', () => {
    assert.deepEqual(
      splitBrainCheck([
        { node: 'db1', primary: true },
        { node: 'db2', primary: false },
      ]),
      { ok: true, primaries: ['db1'] },
    );
    assert.equal(
      splitBrainCheck([
        { node: 'db1', primary: true },
        { node: 'db-dr1', primary: true },
      ]).ok,
      false,
    );
    assert.equal(splitBrainCheck([]).ok, false);
  });

  it('when the load program is built, then its settings (the token) are inside it, for stdin', () => {
    const program = loadProgram({
      token: 'secret-token',
      run: 'r1',
      url: 'http://127.0.0.1:3000',
      max: 10,
      seconds: 5,
      intervalMs: 100,
      recoveredStreak: 3,
    });
    assert.match(program, /^const settings = \{"token":"secret-token"/);
  });
});

describe("dr replica target: Patroni's REST API credentials", () => {
  /** The target with `docker compose` replaced by a recorder answering 200. */
  function recording(env: NodeJS.ProcessEnv, cwd = '/nonexistent') {
    const calls: { args: readonly string[]; stdin: string }[] = [];
    const target = new (class extends ReplicaTarget {
      override compose(args: readonly string[], options: { stdin?: string } = {}): Promise<Result> {
        calls.push({ args, stdin: options.stdin ?? '' });
        return Promise.resolve({ code: 0, stdout: '{}\n200', stderr: '' });
      }
    })(cwd, env);
    return { target, calls };
  }

  it('when a switchover is posted, then basic auth goes on stdin (never an argument) ahead of the body', async () => {
    const { target, calls } = recording({ PATRONI_RESTAPI_PASSWORD: 'rest-secret-1' });
    assert.equal((await target.rest('db1', 'POST', '/switchover', { leader: 'db1' })).status, 200);
    const [call] = calls;
    assert.ok(call);
    assert.equal(call.stdin, `${patroniRestUser}:rest-secret-1\n{"leader":"db1"}`);
    assert.ok(call.args.includes('http://db1:8008/switchover'));
    assert.equal(call.args.join(' ').includes('rest-secret-1'), false);
  });

  it('when a GET is asked, then no credentials are sent (the open endpoints)', async () => {
    const { target, calls } = recording({});
    await target.rest('db2', 'GET', '/cluster');
    const [call] = calls;
    assert.ok(call);
    assert.equal(call.stdin, '');
    assert.equal(call.args.includes('-u'), false);
  });

  it('when the password is neither in the environment nor in .env, then an unsafe call fails saying where it comes from', async () => {
    const { target, calls } = recording({});
    await assert.rejects(target.rest('db1', 'POST', '/failover', { candidate: 'db2' }), /PATRONI_RESTAPI_PASSWORD/);
    assert.equal(calls.length, 0);
  });
});
