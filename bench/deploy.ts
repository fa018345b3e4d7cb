// npm run bench:deploy — blue-green on a fresh replica: the time from `deploy` to traffic switched
// (migrations, the colour's start, the smoke tests, the switch), and from `rollback` to the old
// version serving through the CDN. Baseline in the same run: restarting the base pool in place
// (`docker compose restart web1 web2 api` until healthy and serving) — what bringing an old version
// back costs without a fallback kept running. BENCH_ROUNDS (3) deploy/rollback rounds.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { deploy, rollback } from '../provision/deploy/blue-green.js';
import { ReplicaTarget } from '../provision/deploy/replica.js';
import { repoRoot } from '../tests/support/paths.js';
import { StartedReplica } from '../tests/support/started-replica.js';

const exec = promisify(execFile);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const imageTag = process.env.IMAGE_TAG ?? 'dev';
const log = (line: string) => process.stderr.write(`${line}\n`);
const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');

async function servedBy(cdnUrl: string): Promise<string> {
  try {
    const response = await fetch(`${cdnUrl}/?bench=${randomBytes(6).toString('hex')}`, {
      signal: AbortSignal.timeout(5_000),
    });
    await response.text();
    return response.status === 200 ? (response.headers.get('x-served-by') ?? '?') : `HTTP ${response.status}`;
  } catch {
    return 'error';
  }
}

/** Milliseconds from `started` until the CDN answers from a server matching `pattern`. */
async function untilServedBy(cdnUrl: string, pattern: RegExp, started: number): Promise<number> {
  for (;;) {
    if (pattern.test(await servedBy(cdnUrl))) return performance.now() - started;
    if (performance.now() - started > 300_000) throw new Error(`not served by ${pattern} within 300 s`);
    await sleep(100);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

const replica = await StartedReplica.start();
const suffix = randomBytes(3).toString('hex');
const versions = [`bench-a-${suffix}`, `bench-b-${suffix}`];
try {
  for (const version of versions)
    for (const component of ['api', 'web'])
      await exec('docker', ['tag', `refereezy/${component}:${imageTag}`, `refereezy/${component}:${version}`]);
  Object.assign(process.env, replica.composeEnvironment, { DEPLOY_ACTOR: 'bench' });
  const target = new ReplicaTarget(undefined, replica.projectName);
  const toSwitch: number[] = [];
  const toServe: number[] = [];
  const backToOld: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const version = versions[round % 2] ?? '';
    const started = performance.now();
    const outcome = await deploy(target, version);
    toSwitch.push(outcome.switchedAfterMs ?? NaN);
    const state = await target.readState();
    toServe.push(await untilServedBy(replica.cdnUrl, new RegExp(`^web-${state.live}$`), started));
    log(
      `deploy ${version} → ${state.live}: switched after ${((outcome.switchedAfterMs ?? 0) / 1000).toFixed(1)} s (load ${load()})`,
    );
    const rollbackStarted = performance.now();
    await rollback(target);
    const back = await target.readState();
    const old = back.live === 'base' ? /^web[12]$/ : new RegExp(`^web-${back.live}$`);
    backToOld.push(await untilServedBy(replica.cdnUrl, old, rollbackStarted));
    log(`rollback → ${back.live}: old version serving after ${((backToOld.at(-1) ?? 0) / 1000).toFixed(2)} s`);
    // The next round deploys again from where the rollback left it.
    if (round < rounds - 1) await deploy(target, version);
  }
  const restartStarted = performance.now();
  await exec('docker', ['compose', '-p', replica.projectName, 'restart', 'api', 'web1', 'web2'], {
    cwd: repoRoot,
    env: { ...process.env },
  });
  await target.switchTo('base');
  for (;;) {
    if ((await target.health('base')) === 'UP' && /^web[12]$/.test(await servedBy(replica.cdnUrl))) break;
    await sleep(100);
  }
  const restart = performance.now() - restartStarted;
  const result = {
    rounds,
    deployToSwitchedS: +(median(toSwitch) / 1000).toFixed(1),
    deployToServingS: +(median(toServe) / 1000).toFixed(1),
    rollbackToOldServingS: +(median(backToOld) / 1000).toFixed(2),
    baselineRestartInPlaceS: +(restart / 1000).toFixed(1),
    rollbackVsRestart: +(median(backToOld) / restart).toFixed(3),
    load: load(),
  };
  console.log(JSON.stringify(result, null, 2));
  await target.removeColours();
} finally {
  await replica.down();
  for (const version of versions)
    await exec('docker', ['rmi', '-f', `refereezy/api:${version}`, `refereezy/web:${version}`]).catch(() => undefined);
}
