// Provisioning runs that must not hurt what the hosts serve, in one lab: db1 [db], api1 and api2
// [api], web1 [web] and edge1 [edge] (the load balancer's stand-in, the only source web1 admits HTTP
// from). Converged, then:
//  - egress: web1 opens what it needs (the API, the apt proxy) and nothing else (the bastion's SSH,
//    which admits anyone, is refused on web1's own side), HTTP reaches web1 from the load balancer
//    only; the common role re-run changes nothing;
//  - a rolling restart of the API: a poller on web1 asks both /readyz ten times a second while the
//    runbook's commands roll a new environment onto api1 and api2: never both down, each down once;
//  - PostgreSQL: a start-only setting that changed is reported "restart pending" and PostgreSQL keeps
//    running (a reload-only one is applied), until the runbook's `--allow-restart db` restarts it.
// The runbook's replica blocks (docs/runbooks/rolling-restart.md) are the commands run here.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../../support/paths.js';
import { startProvisionLab, type ProvisionRun, type StartedProvisionLab } from '../../support/provision-lab.js';
import { useRyukOnlyWhereAvailable } from '../../support/ryuk.js';
import { runbookBlockList } from '../../support/runbook-commands.js';

const run = promisify(execFile);
const conf = '/etc/refereezy/postgresql/postgresql.conf';

let lab: StartedProvisionLab;

before(async () => {
  await useRyukOnlyWhereAvailable();
  lab = await startProvisionLab({
    hosts: {
      db1: { groups: ['db'], vars: { db_backups: false } },
      api1: { groups: ['api'] },
      api2: { groups: ['api'] },
      web1: { groups: ['web'] },
      edge1: { groups: ['edge'] },
    },
    groups: {
      api: { firebase_project_id: 'refereezy-lab' },
      // Two api hosts: nginx needs one name for both (Docker's resolver answers for api1). No load
      // balancer subnet: only the hosts of group edge reach web1's HTTP.
      web: { api_host: 'api1', dns_resolver: '127.0.0.11', load_balancer_cidrs: [] },
    },
    secrets: {
      db_password: `db-${randomBytes(12).toString('hex')}`,
      db_monitor_password: `mon-${randomBytes(12).toString('hex')}`,
    },
  });
});

after(async () => {
  await (lab as StartedProvisionLab | undefined)?.stop();
});

/** The tasks that changed, with their diffs: what a converge that should change nothing did. */
function changes(result: ProvisionRun): string {
  return result.recap.hosts
    .flatMap((host) =>
      host.tasks
        .filter((task) => task.status !== 'ok')
        .map(
          (task) =>
            `[${host.host}] ${task.status} ${task.role}: ${task.task} — ${task.reason}${task.diff ? `\n${task.diff}` : ''}`,
        ),
    )
    .join('\n');
}

const failures = (result: ProvisionRun) =>
  result.recap.hosts
    .filter((host) => host.status !== 'ok' && host.status !== 'changed')
    .map((host) => `${host.host}: ${host.status} ${host.error?.message ?? ''}`)
    .join('\n');

/** Whether a TCP connection from a lab host opens within 3 s, and what bash said when it did not (nothing: a time-out). */
async function connects(host: string, address: string, port: number): Promise<{ open: boolean; output: string }> {
  const { exitCode, output } = await lab.exec(host, [
    'timeout',
    '3',
    'bash',
    '-c',
    'exec 3<>"/dev/tcp/$1/$2"',
    'connect',
    address,
    String(port),
  ]);
  return { open: exitCode === 0, output };
}

/** An HTTP/1.0 GET from a lab host: the status, or 0 when no connection opened. */
async function httpStatus(host: string, address: string, port: number, target: string): Promise<number> {
  const script =
    'exec 3<>"/dev/tcp/$1/$2" || exit 7; printf "GET %s HTTP/1.0\\r\\nHost: $1\\r\\n\\r\\n" "$3" >&3; timeout 5 head -c 12 <&3';
  const { exitCode, output } = await lab.exec(host, [
    'timeout',
    '10',
    'bash',
    '-c',
    script,
    'http',
    address,
    String(port),
    target,
  ]);
  return exitCode === 0 ? Number(/^HTTP\/1\.\d (\d{3})/.exec(output)?.[1] ?? 0) : 0;
}

async function sql(query: string): Promise<string> {
  const { exitCode, output } = await lab.exec('db1', [
    'runuser',
    '-u',
    'postgres',
    '--',
    'psql',
    '--no-psqlrc',
    '--tuples-only',
    '--no-align',
    `--command=${query}`,
  ]);
  assert.equal(exitCode, 0, output);
  return output.trim();
}

const postmasterPid = async () =>
  (await lab.exec('db1', ['systemctl', 'show', '--property=MainPID', '--value', 'postgresql.service'])).output.trim();

/** The runbook's `sh replica` blocks, in order. */
function replicaBlocks(): string[] {
  return runbookBlockList('rolling-restart.md', 'replica').map((block) => block.code);
}

/** Runs a runbook block with bash as an operator would (set -e: a failing command fails the block). */
async function runBlock(block: string): Promise<string> {
  const env = { ...process.env, ...lab.operatorEnv() };
  delete env.PROVISION_VAULT_PASSWORD_FILE;
  try {
    const { stdout, stderr } = await run('bash', ['-euo', 'pipefail', '-c', block], {
      cwd: repoRoot,
      env,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 15 * 60_000,
    });
    return stdout + stderr;
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    throw new Error(
      `runbook block failed (exit ${failed.code ?? '?'}):\n${block}\n${failed.stdout ?? ''}${failed.stderr ?? ''}`,
      { cause: error },
    );
  }
}

/** Sets a group var in the lab's inventory, as an operator edits prod.yaml. */
function setGroupVar(group: string, name: string, value: unknown): void {
  const text = readFileSync(lab.inventoryFile, 'utf8');
  const inventory = parse(text) as { groups: Record<string, Record<string, unknown>> };
  inventory.groups[group] = { ...inventory.groups[group], [name]: value };
  writeFileSync(lab.inventoryFile, stringify(inventory, { lineWidth: 0 }));
}

describe('provisioning runs that keep the platform up', () => {
  it('when the hosts are converged from scratch, then every host converges (the api hosts one after the other)', async () => {
    const started = Date.now();
    const first = await lab.provision([]);
    process.stderr.write(`first converge: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    assert.equal(first.code, 0, `exit ${first.code}:\n${failures(first)}\n${first.stderr.slice(-4000)}`);
    // The roll: api2 starts only after api1's last line (its restart handler, which waited for /readyz).
    const lines = first.stderr.split('\n');
    const lastOfApi1 = lines.findLastIndex((line) => line.startsWith('[api1] '));
    const firstOfApi2 = lines.findIndex((line) => line.startsWith('[api2] '));
    assert.ok(
      lastOfApi1 !== -1 && firstOfApi2 > lastOfApi1,
      `api2 started before api1 was done:\n${lines.filter((line) => /^\[api[12]\]/.test(line)).join('\n')}`,
    );
  });

  it('when converged again, then nothing changes; the common role alone neither', async () => {
    const second = await lab.provision([]);
    assert.equal(second.code, 0, failures(second));
    assert.equal(
      second.recap.hosts.reduce((sum, host) => sum + host.changed, 0),
      0,
      changes(second),
    );
    const common = await lab.provision(['--tags', 'common']);
    assert.equal(common.code, 0, failures(common));
    assert.equal(
      common.recap.hosts.reduce((sum, host) => sum + host.changed, 0),
      0,
      changes(common),
    );
  });

  it('when web1 opens connections, then the API and the apt proxy open, and what no rule allows is refused on web1 itself', async () => {
    assert.equal((await connects('web1', lab.address('api1'), 3000)).open, true, 'web1 → api1:3000');
    assert.equal((await connects('web1', lab.address('api2'), 3000)).open, true, 'web1 → api2:3000');
    assert.equal((await connects('web1', lab.address('apt-proxy'), 3142)).open, true, 'web1 → apt proxy');
    // The bastion admits SSH from anyone: only web1's egress can stop this one. web1 rejects it
    // itself, at once (no time-out).
    assert.equal(
      (await connects('edge1', lab.address('bastion'), 22)).open,
      false,
      'edge1 (common only) → bastion:22: no rule',
    );
    const toBastion = await connects('web1', lab.address('bastion'), 22);
    assert.equal(toBastion.open, false, 'web1 → bastion:22');
    assert.match(toBastion.output, /No route to host/, 'not refused by web1 itself');
    assert.equal((await connects('web1', lab.address('db1'), 5432)).open, false, 'web1 → db1:5432');
    assert.equal(
      (await connects('web1', lab.address('api1'), 9464)).open,
      false,
      'web1 → api1:9464 (metrics: monitoring only)',
    );
    const counter = (await lab.exec('web1', ['nft', 'list', 'chain', 'inet', 'refereezy', 'output'])).output;
    assert.match(
      counter,
      /counter packets [1-9]\d* bytes \d+ reject with icmpx admin-prohibited comment "refused: no egress rule allows it"/,
    );
    // api1 reaches PostgreSQL (it is ready) and the API answers through web1's proxy, asked by the load balancer.
    assert.equal(await httpStatus('web1', lab.address('api1'), 3000, '/readyz'), 200);
    assert.equal(await httpStatus('edge1', lab.address('web1'), 80, '/healthz'), 200);
  });

  it('when another host than the load balancer asks web1 for HTTP, then nothing answers', async () => {
    assert.equal((await connects('api1', lab.address('web1'), 80)).open, false, 'api1 → web1:80');
    assert.equal((await connects('db1', lab.address('web1'), 80)).open, false, 'db1 → web1:80');
    assert.equal((await connects('bastion', lab.address('web1'), 80)).open, false, 'bastion → web1:80');
  });

  it('when the runbook rolls a new API environment onto api1 and api2, then /readyz never fails on both at once, and each restarted', async (t) => {
    const [rollBlock] = replicaBlocks();
    assert.ok(rollBlock, 'no replica block in the runbook');
    setGroupVar('api', 'api_log_level', 'debug');
    // Both API hosts asked every 100 ms from web1 (which may reach them), into a file on web1.
    const poller = `rm -f /run/readyz-samples
probe() { timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/3000" && printf "GET /readyz HTTP/1.0\\r\\n\\r\\n" >&3 && head -c 12 <&3' probe "$1" 2>/dev/null | grep -q " 200" && echo up || echo down; }
while :; do echo "$(date +%s%3N) $(probe "$1") $(probe "$2")" >>/run/readyz-samples; sleep 0.1; done`;
    const start = await lab.exec('web1', [
      'systemd-run',
      '--unit=refereezy-readyz-poller',
      '--quiet',
      '/bin/bash',
      '-c',
      poller,
      'poller',
      lab.address('api1'),
      lab.address('api2'),
    ]);
    assert.equal(start.exitCode, 0, start.output);
    let output: string;
    try {
      await sleep(1_000);
      output = await runBlock(rollBlock);
      await sleep(500);
    } finally {
      await lab.exec('web1', ['systemctl', 'stop', 'refereezy-readyz-poller.service']);
    }
    const samples = (await lab.exec('web1', ['cat', '/run/readyz-samples'])).output
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    const down = (index: 1 | 2) => samples.filter((sample) => sample[index] === 'down').length;
    const both = samples.filter((sample) => sample[1] === 'down' && sample[2] === 'down');
    t.diagnostic(
      `${samples.length} samples: api1 down in ${down(1)}, api2 down in ${down(2)}, both down in ${both.length}`,
    );
    assert.ok(samples.length > 20, `too few samples: ${samples.length}`);
    assert.deepEqual(both, [], 'api1 and api2 were down at the same time');
    assert.ok(
      down(1) > 0 && down(2) > 0,
      `a host never went down (api1 ${down(1)}, api2 ${down(2)}): was it restarted?\n${output}`,
    );
    // The runbook's own output: the check named the change, the roll restarted api1 (ready) before api2 began.
    assert.match(output, /^CHECK .*\n(.*\n)*\[api1\] .*handler: restart api — would run restart api/m);
    const lines = output.split('\n').slice(output.split('\n').findIndex((line) => line.startsWith('CONVERGE ')));
    const restarted = (host: string) =>
      lines.findIndex(
        (line) => line.startsWith(`[${host}] `) && line.includes('handler: restart api — ran restart api'),
      );
    assert.ok(restarted('api1') !== -1 && restarted('api2') !== -1, output);
    assert.ok(
      lines.findIndex((line) => line.startsWith('[api2] ')) > restarted('api1'),
      `api2 began before api1 was restarted and ready:\n${output}`,
    );
  });

  it('when a setting PostgreSQL reads only at start changes, then the run reports "restart pending", reloads what it can, and PostgreSQL keeps running', async () => {
    // The running PostgreSQL has other values than the repo's file: a start-only one and a reload-time one.
    const edit = await lab.exec('db1', [
      'sh',
      '-c',
      `sed -i 's/^max_connections = 100/max_connections = 90/; s/^work_mem = 4MB/work_mem = 8MB/' ${conf} && systemctl restart postgresql.service`,
    ]);
    assert.equal(edit.exitCode, 0, edit.output);
    assert.equal(await sql('SHOW max_connections'), '90');
    const pid = await postmasterPid();

    const converge = await lab.provision(['--limit', 'db']);
    assert.equal(converge.code, 0, failures(converge));
    const db1 = converge.recap.hosts.find((host) => host.host === 'db1');
    assert.deepEqual(db1?.pending, [
      'restart postgresql (settings that apply at start only changed: max_connections): run with --allow-restart db',
    ]);
    assert.equal(db1.tasks.find((task) => task.task === 'handler: restart postgresql')?.status, 'pending');
    assert.equal(await postmasterPid(), pid, 'PostgreSQL was restarted without --allow-restart');
    assert.equal(await sql('SHOW max_connections'), '90');
    assert.equal(await sql('SHOW work_mem'), '4MB', 'the reload-only setting was not reloaded');
  });

  it('when the runbook applies the pending restart, then PostgreSQL restarts once with the new setting, and the next run has nothing pending', async () => {
    const [, restartBlock] = replicaBlocks();
    assert.ok(restartBlock, 'no second replica block in the runbook');
    const pid = await postmasterPid();
    const output = await runBlock(restartBlock);
    // The first command of the block reports it again (kept on the host), the second applies it.
    assert.match(
      output,
      /restart pending: restart postgresql \(settings that apply at start only changed: max_connections\): run with --allow-restart db \(pending from an earlier run\)/,
    );
    assert.match(
      output,
      /handler: restart postgresql — ran restart postgresql \(settings that apply at start only changed: max_connections\) \(pending from an earlier run\)/,
    );
    assert.notEqual(await postmasterPid(), pid);
    assert.equal(await sql('SHOW max_connections'), '100');
    // The API's pool reconnects on its own.
    let ready = 0;
    for (let attempt = 0; attempt < 30 && ready !== 200; attempt += 1) {
      if (attempt > 0) await sleep(1_000);
      ready = await httpStatus('web1', lab.address('api1'), 3000, '/readyz');
    }
    assert.equal(ready, 200);
    const next = await lab.provision(['--limit', 'db']);
    assert.equal(next.code, 0, failures(next));
    assert.deepEqual(next.recap.hosts.find((host) => host.host === 'db1')?.pending, []);
    assert.equal(
      next.recap.hosts.reduce((sum, host) => sum + host.changed, 0),
      0,
      changes(next),
    );
  });
});
