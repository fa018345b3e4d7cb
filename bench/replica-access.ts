// How the benches reach a replica: one they start (Testcontainers), or a running `npm run stack`
// (BENCH_COMPOSE_PROJECT), its API container on the app network, and a live match to load.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { ApiClient } from '../tests/support/api-client.js';
import { json } from '../tests/support/http.js';
import { trustLocalCa } from '../tests/support/local-ca.js';
import { StartedReplica } from '../tests/support/started-replica.js';

export const run = promisify(execFile);

/** What the bench needs of a replica, whether it started one or found a running stack. */
export interface Replica {
  cdnUrl: string;
  containerId(service: 'api' | 'firebase'): Promise<string>;
  stop(): Promise<void>;
}

export async function runningStack(project: string): Promise<Replica> {
  const { stdout } = await run('docker', ['compose', '-p', project, 'port', 'cdn-tls', '443']);
  const port = stdout.trim().split(':').pop();
  trustLocalCa();
  return {
    cdnUrl: `https://localhost:${port}`,
    containerId: async (service) =>
      (await run('docker', ['compose', '-p', project, 'ps', '-q', service])).stdout.trim(),
    stop: () => Promise.resolve(),
  };
}

export async function startedReplica(): Promise<Replica> {
  const replica = await StartedReplica.start();
  return {
    cdnUrl: replica.cdnUrl,
    containerId: (service) => Promise.resolve(replica.container(service).getId()),
    stop: () => replica.down(),
  };
}

export async function idToken(replica: Replica, email: string, role: 'admin' | 'referee'): Promise<string> {
  const { stdout } = await run('docker', [
    'exec',
    await replica.containerId('firebase'),
    'node',
    'id-token.mjs',
    '--email',
    email,
    '--role',
    role,
  ]);
  return (JSON.parse(stdout) as { idToken: string }).idToken;
}

/** The API container's address on the app network (the one the web servers reach it on). */
export async function apiAddress(replica: Replica): Promise<string> {
  const { stdout } = await run('docker', [
    'inspect',
    '-f',
    '{{range $name, $net := .NetworkSettings.Networks}}{{$name}}={{$net.IPAddress}}{{"\\n"}}{{end}}',
    await replica.containerId('api'),
  ]);
  const line = stdout.split('\n').find((entry) => entry.split('=')[0]?.endsWith('_app'));
  if (!line) throw new Error(`the api container is on no *_app network: ${stdout}`);
  return line.split('=')[1] ?? '';
}

/** A competition, a match with `referee` as its referee, started: ready for reads and events. */
export async function liveMatch(admin: ApiClient, referee: { id: number; client: ApiClient }): Promise<number> {
  const competition = json<{ id: number }>(
    await admin.post('/api/competitions', { name: `Bench ${randomUUID()}`, season: '2026' }),
  );
  const match = json<{ id: number }>(
    await admin.post('/api/matches', {
      competitionId: competition.id,
      homeTeam: 'Bench A',
      awayTeam: 'Bench B',
      venue: 'Loopback',
      kickoffAt: '2026-12-01T12:00:00Z',
    }),
  );
  await admin.put(`/api/matches/${match.id}/officials/referee`, { refereeId: referee.id });
  await referee.client.post(`/api/matches/${match.id}/status`, { status: 'live' });
  return match.id;
}

/** The replica named by BENCH_COMPOSE_PROJECT, or one started for the bench. */
export function benchReplica(): Promise<Replica> {
  const project = process.env.BENCH_COMPOSE_PROJECT;
  return project ? runningStack(project) : startedReplica();
}

/** A referee (a Firebase user linked to a referee record) and a live match they officiate. */
export async function refereeWithLiveMatch(replica: Replica): Promise<{ token: string; matchId: number }> {
  const admin = new ApiClient(replica.cdnUrl, await idToken(replica, 'bench-admin@refereezy.test', 'admin'));
  const email = `bench-referee-${randomUUID()}@refereezy.test`;
  const token = await idToken(replica, email, 'referee');
  const uid = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { user_id: string })
    .user_id;
  const referee = json<{ id: number }>(
    await admin.post('/api/referees', { name: 'Bench Referee', email, licenceLevel: 'national', firebaseUid: uid }),
  );
  const matchId = await liveMatch(admin, { id: referee.id, client: new ApiClient(replica.cdnUrl, token) });
  return { token, matchId };
}
