// Blue-green deploys on one replica (docs/runbooks/deploy.md): a deploy and a rollback under load
// through the CDN fail no request; broken versions are never switched to; the fallback serves again
// within seconds; two deploys at once, the second refused naming the holder; the old version keeps
// working against the expanded schema; the runbook's replica blocks run as written.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { ReplicaTarget } from '../../provision/deploy/replica.js';
import { ApiClient } from '../support/api-client.js';
import { request } from '../support/http.js';
import { repoRoot } from '../support/paths.js';
import { runbookBlocks, runShellBlock } from '../support/runbook-commands.js';
import { StartedReplica } from '../support/started-replica.js';

const exec = promisify(execFile);
const imageTag = process.env.IMAGE_TAG ?? 'dev';
const suffix = randomBytes(3).toString('hex');
/** Versions as image tags (a commit sha in real use). */
const v1 = `v1-${suffix}`;
const v2 = `v2-${suffix}`;
const unready = `unready-${suffix}`;
const offContract = `off-contract-${suffix}`;

let replica: StartedReplica;
let started = false;
let env: Record<string, string>;
let admin: ApiClient;
/** host:port of the registry (profile registry of docker-compose.yml) on this replica. */
let registry: string;
let registryDigests: string;
const scratch = mkdtempSync(path.join(tmpdir(), 'deploy-test-'));

async function docker(...args: string[]): Promise<string> {
  return (await exec('docker', args, { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...env } }))
    .stdout;
}

/** `npm run deploy -- replica …` as an operator types it; never throws for its exit code. */
function deployCli(...args: string[]): Promise<{ exitCode: number; output: string }> {
  return runShellBlock(
    `node --import tsx provision/deploy/cli.ts replica ${args.map((a) => `'${a}'`).join(' ')}`,
    env,
    600_000,
  );
}

async function servedBy(): Promise<string> {
  const page = await request(`${replica.cdnUrl}/?probe=${randomBytes(6).toString('hex')}`);
  assert.equal(page.status, 200);
  return page.headers.get('x-served-by') ?? '?';
}

/** The ids and start times of a colour's containers: the same after a rollback means nothing was rebuilt or restarted. */
async function colourContainers(colour: string): Promise<string> {
  const ids = (
    await docker(
      'compose',
      '-p',
      replica.projectName,
      '-f',
      'docker-compose.yml',
      '-f',
      'docker-compose.deploy.yml',
      '-f',
      env.DEPLOY_COMPOSE_FILES ?? '',
      'ps',
      '-q',
      `api-${colour}`,
      `web-${colour}`,
    )
  )
    .trim()
    .split('\n');
  return docker('inspect', '-f', '{{.Id}} {{.State.StartedAt}}', ...ids);
}

/**
 * Subnets of the replica's networks, outside Docker's default pools: on a machine running several
 * replicas at once those pools run out ("could not find an available, non-overlapping IPv4 address
 * pool"). A random 10.x.0.0/16 per run.
 */
function subnetsOverlay(): string {
  const octet = 100 + Math.floor(Math.random() * 150);
  const names = ['public', 'app', 'private', 'monitoring', 'metrics', 'edge-metrics', 'logs', 'ops', 'registry'];
  const file = path.join(scratch, 'subnets.yml');
  writeFileSync(
    file,
    `networks:\n${names.map((name, i) => `  ${name}:\n    ipam:\n      config:\n        - subnet: 10.${octet}.${i}.0/24\n`).join('')}`,
  );
  return file;
}

before(async () => {
  // The load below writes as one user, hundreds of times a minute: the per-user write limit (its own
  // test is in api/operations.test.ts) would answer most of those writes 429.
  process.env.API_WRITE_LIMIT_BURST = '0';
  // And it comes from one address, faster than the edge lets one client (its own test: replica-edge.ts).
  process.env.EDGE_REQUESTS_PER_10S = '10000000';
  const overlay = subnetsOverlay();
  replica = await StartedReplica.start({ extraComposeFiles: [overlay] });
  started = true;
  env = {
    ...replica.composeEnvironment,
    IMAGE_TAG: imageTag,
    DEPLOY_ACTOR: 'deploy-test',
    DEPLOY_COMPOSE_FILES: overlay,
    REGISTRY_PORT: '0',
    REGISTRY_USER: 'ci',
    REGISTRY_PASSWORD: randomBytes(18).toString('base64url'),
    REGISTRY_TLS_DIR: path.join(scratch, 'tls/registry'),
    // docker login's credentials, for the push and the deploy's pull, kept out of ~/.docker.
    DOCKER_CONFIG: path.join(scratch, 'docker'),
  };
  await exec('bash', ['scripts/registry-cert', scratch], { cwd: repoRoot });
  await docker(
    'compose',
    '-p',
    replica.projectName,
    '-f',
    'docker-compose.yml',
    '-f',
    overlay,
    '--profile',
    'registry',
    'up',
    '-d',
    '--build',
    '--wait',
    'registry',
  );
  registry = `127.0.0.1:${(await docker('compose', '-p', replica.projectName, '-f', 'docker-compose.yml', '-f', overlay, 'port', 'registry', '5000')).trim().split(':').pop() ?? ''}`;
  admin = new ApiClient(replica.cdnUrl, await replica.idToken('deploy-admin@refereezy.test', 'admin'));
  // The versions: v1 is the replica's own images under another tag; the others are small layers on top.
  for (const component of ['api', 'web']) {
    await docker('tag', `refereezy/${component}:${imageTag}`, `refereezy/${component}:${v1}`);
    for (const version of [v2, unready, offContract])
      if (component === 'web') await docker('tag', `refereezy/web:${imageTag}`, `refereezy/web:${version}`);
  }
  for (const [version, fixture] of [
    [v2, 'api-next'],
    [unready, 'api-unready'],
    [offContract, 'api-off-contract'],
  ] as const) {
    await docker(
      'build',
      '-q',
      '--build-arg',
      `API_IMAGE=refereezy/api:${imageTag}`,
      '-t',
      `refereezy/api:${version}`,
      `tests/fixtures/deploy/${fixture}`,
    );
  }
  // v1 goes through the registry as CI sends it: tagged by commit, pushed; the deploy pulls it by digest.
  registryDigests = (
    await exec('bash', ['scripts/push-images', registry, v1], { cwd: repoRoot, env: { ...process.env, ...env } })
  ).stdout;
});

after(async () => {
  if (!started) return;
  try {
    for (const report of await replica.unhealthyServiceLogs()) console.error(report);
    // The deploy target runs Compose with this process's environment: it needs the replica's variables.
    Object.assign(process.env, env);
    await new ReplicaTarget(undefined, replica.projectName)
      .removeColours()
      .catch((error: unknown) => console.error(error));
    await docker(
      'compose',
      '-p',
      replica.projectName,
      '-f',
      'docker-compose.yml',
      '-f',
      env.DEPLOY_COMPOSE_FILES ?? '',
      '--profile',
      'registry',
      'rm',
      '-fsv',
      'registry',
    ).catch((error: unknown) => console.error(error));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await replica.down();
    for (const version of [v1, v2, unready, offContract])
      await docker('rmi', '-f', `refereezy/api:${version}`, `refereezy/web:${version}`).catch(() => undefined);
  }
});

describe('blue-green deploys on the replica', () => {
  it('when v1 is pushed to the registry and deployed from it, then blue runs it by digest, serves, and status says so', async () => {
    assert.match(registryDigests, new RegExp(`^refereezy/api ${registry}/refereezy/api@sha256:[0-9a-f]{64}$`, 'm'));
    const unauthenticated = await exec('curl', [
      '-sk',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `https://${registry}/v2/`,
    ]);
    assert.equal(unauthenticated.stdout, '401', 'the registry asks for credentials');
    const deployed = await runShellBlock(
      `node --import tsx provision/deploy/cli.ts replica deploy --version '${v1}'`,
      { ...env, DEPLOY_REGISTRY: registry },
      600_000,
    );
    assert.equal(deployed.exitCode, 0, deployed.output);
    assert.equal(await servedBy(), 'web-blue');
    const image = (
      await docker(
        'compose',
        '-p',
        replica.projectName,
        '-f',
        'docker-compose.yml',
        '-f',
        'docker-compose.deploy.yml',
        '-f',
        env.DEPLOY_COMPOSE_FILES ?? '',
        'ps',
        '--format',
        '{{.Image}}',
        'api-blue',
      )
    ).trim();
    assert.match(image, new RegExp(`^${registry}/refereezy/api@sha256:[0-9a-f]{64}$`));
    const shown = await deployCli('status');
    assert.match(
      shown.output,
      new RegExp(`blue\\s+live\\s+${v1}\\s.*api=${registry}/refereezy/api@sha256:`),
      shown.output,
    );
    assert.match(shown.output, /base\s+fallback/, shown.output);
  });

  it('when v2 is deployed and rolled back under load through the CDN, then no request fails', async () => {
    const token = await replica.idToken('deploy-load@refereezy.test', 'admin');
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    let count = 0;
    const progress = { finished: false };
    let finish: (result: autocannon.Result) => void = () => undefined;
    let fail: (error: Error) => void = () => undefined;
    const done = new Promise<autocannon.Result>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const load = autocannon(
      {
        url: replica.cdnUrl,
        connections: 8,
        // Bounded: stopped once both switches are done and 5,000 answers came; 10 minutes at most.
        duration: 600,
        timeout: 30,
        requests: [
          { method: 'GET', path: '/api/competitions', headers },
          {
            method: 'POST',
            path: '/api/competitions',
            headers,
            // A new competition each time: the same name twice is a 409 (competition_exists).
            setupRequest: (request) => ({
              ...request,
              body: JSON.stringify({ name: `Load during deploy ${randomUUID()}`, season: '2026' }),
            }),
          },
          { method: 'GET', path: '/', headers },
        ],
      },
      (error: Error | null, result: autocannon.Result) => {
        progress.finished = true;
        if (error) fail(error);
        else finish(result);
      },
    );
    load.on('response', () => (count += 1));
    const blueBefore = await colourContainers('blue');
    const deployed = await deployCli('deploy', '--version', v2);
    assert.equal(deployed.exitCode, 0, deployed.output);
    assert.equal(await servedBy(), 'web-green');
    const rolledBack = await deployCli('rollback');
    assert.equal(rolledBack.exitCode, 0, rolledBack.output);
    // The first request after the command is the old version's, from the same containers: nothing rebuilt or restarted.
    assert.equal(await servedBy(), 'web-blue');
    assert.deepEqual(await colourContainers('blue'), blueBefore);
    console.log(rolledBack.output.trim());
    while (count < 5_000 && !progress.finished) await new Promise((resolve) => setTimeout(resolve, 500));
    load.stop();
    const result = await done;
    console.log(
      `load: ${result.requests.total} requests, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts over ${result.duration} s`,
    );
    assert.ok(result.requests.total >= 5_000, `only ${result.requests.total} requests`);
    assert.equal(result.non2xx, 0);
    assert.equal(result.errors, 0);
    assert.equal(result.timeouts, 0);
  });

  it('when traffic is back on v1 after v2 expanded the schema, then v1 still writes, and the contract migration waited', async () => {
    // v1 does not know the nickname column; its inserts work because the NOT NULL (contract) was withheld.
    const created = await admin.post('/api/referees', {
      name: 'Kateryna Monzul',
      email: `monzul-${suffix}@example.org`,
      licenceLevel: 'international',
    });
    assert.equal(created.status, 201, created.body);
    const db = replica.container('db');
    const { output } = await db.exec([
      'psql',
      '-X',
      '-At',
      '-U',
      'postgres',
      '-d',
      'refereezy',
      '-c',
      'SELECT name FROM pgmigrations ORDER BY id',
    ]);
    assert.match(output, /1799000000000_referee_nickname/);
    assert.doesNotMatch(output, /contract_referee_nickname_required/);
    const refused = await deployCli('contract');
    assert.notEqual(refused.exitCode, 0);
    assert.match(refused.output, /the fallback green .* may still need the old schema/);
  });

  it('when a version that never gets ready is deployed, then it is refused and traffic stays where it was', async () => {
    const before = await servedBy();
    const deployed = await deployCli('deploy', '--version', unready);
    assert.notEqual(deployed.exitCode, 0, deployed.output);
    assert.match(deployed.output, /refused, traffic stays on blue/);
    assert.equal(await servedBy(), before);
  });

  it('when a version whose answers break its OpenAPI contract is deployed, then the smoke test says so and traffic stays', async () => {
    const deployed = await deployCli('deploy', '--version', offContract);
    assert.notEqual(deployed.exitCode, 0, deployed.output);
    assert.match(deployed.output, /contract: read \(GET \/api\/competitions\)/);
    assert.match(deployed.output, /traffic stays on blue/);
    assert.equal(await servedBy(), 'web-blue');
  });

  it('when two deploys start at once, then the second is refused naming who holds the lock', async () => {
    const [first, second] = await Promise.all([
      deployCli('deploy', '--version', v2),
      new Promise((resolve) => setTimeout(resolve, 1500)).then(() => deployCli('deploy', '--version', v2)),
    ]);
    assert.equal(first.exitCode, 0, first.output);
    assert.notEqual(second.exitCode, 0);
    assert.match(second.output, /refused: locked by deploy-test@/);
  });

  it("when the runbook's replica blocks run, then they deploy, show the status and roll back", async () => {
    const blocks = runbookBlocks('deploy.md', 'replica');
    for (const name of ['deploy', 'status', 'rollback']) {
      const block = blocks.get(name);
      assert.ok(block, `deploy.md has no replica ${name} block`);
      const result = await runShellBlock(block, { ...env, VERSION: v1 }, 600_000);
      assert.equal(result.exitCode, 0, `${name}:\n${result.output}`);
      if (name === 'deploy') assert.match(result.output, new RegExp(`traffic on blue \\(${v1}\\)`));
      if (name === 'rollback') assert.match(result.output, new RegExp(`traffic back on green \\(${v2}\\)`));
    }
    assert.equal(await servedBy(), 'web-green');
  });
});
