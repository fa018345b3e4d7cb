// Where the API spends its CPU on GET /api/matches/:id: a second API process in the replica's API
// container (its image, its settings, port 3200) run with `node --cpu-prof`, loaded for
// BENCH_SECONDS (10) with BENCH_CONNECTIONS (10), stopped (the profile is written on exit), then
// summarised: self time per package (node_modules/<name>, the API's own dist/, node: internals) and
// the heaviest functions. The .cpuprofile is kept under .local/ for Chrome DevTools or speedscope.
// Run: npm run bench:profile (a replica of its own), or BENCH_COMPOSE_PROJECT=refereezy npm run bench:profile.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { request } from '../tests/support/http.js';
import { repoRoot } from '../tests/support/paths.js';
import { apiAddress, benchReplica, refereeWithLiveMatch, run } from './replica-access.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const port = 3200;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time (ms) per node id, from the sample timeline. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const times = new Map<number, number>();
  profile.samples.forEach((id, index) => times.set(id, (times.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000));
  return times;
}

function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module?.[1]) return module[1];
  if (url.startsWith('node:')) return 'node: internals';
  if (url.includes('/dist/')) return 'API (dist/)';
  return url;
}

const replica = await benchReplica();
try {
  const { token, matchId } = await refereeWithLiveMatch(replica);
  const api = await replica.containerId('api');
  const address = await apiAddress(replica);
  // A second API beside the first: same image, environment and database; its own ports.
  await run('docker', [
    'exec',
    '-d',
    '-e',
    `API_PORT=${port}`,
    '-e',
    'METRICS_PORT=9465',
    api,
    'sh',
    '-c',
    'echo $$ >/tmp/api-profile.pid; exec node --cpu-prof --cpu-prof-dir=/tmp/api-profile --cpu-prof-name=api.cpuprofile dist/main.js',
  ]);
  const url = `http://${address}:${port}`;
  for (let attempt = 0; (await request(`${url}/healthz`).catch(() => undefined))?.status !== 200; attempt += 1) {
    if (attempt > 120) throw new Error(`the profiled API did not answer at ${url} within 60 s`);
    await sleep(500);
  }
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ method: 'GET', path: `/api/matches/${matchId}` }],
  });
  // SIGTERM: the API drains and exits, and Node writes the profile on the way out.
  await run('docker', ['exec', api, 'sh', '-c', 'kill -TERM "$(cat /tmp/api-profile.pid)"']);
  const directory = join(repoRoot, '.local', 'profiles');
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `api-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  for (let attempt = 0; ; attempt += 1) {
    const copied = await run('docker', ['cp', `${api}:/tmp/api-profile/api.cpuprofile`, file]).then(
      () => true,
      () => false,
    );
    if (copied) break;
    if (attempt > 60) throw new Error('the profiled API wrote no profile within 30 s of SIGTERM');
    await sleep(500);
  }
  await run('docker', ['exec', api, 'rm', '-rf', '/tmp/api-profile', '/tmp/api-profile.pid']);

  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const times = selfTimes(profile);
  const total = [...times.values()].reduce((sum, time) => sum + time, 0);
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const time = times.get(node.id) ?? 0;
    const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + time);
    const name = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/srv\/refereezy\/api\//, '')}:${node.callFrame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + time);
  }
  const top = (entries: Map<string, number>, count: number) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, ms]) => ({ name, 'self ms': Math.round(ms), share: `${((100 * ms) / total).toFixed(1)} %` }));
  console.log(
    `\n${Math.round(result.requests.average)} req/s while profiled (${connections} connections, ${seconds} s); profile: ${file}\n`,
  );
  console.table(top(byPackage, 15));
  console.table(top(byFunction, 25));
} finally {
  await replica.stop();
}
