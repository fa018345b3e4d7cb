// Grafana's dashboards and data source, and the ELK configuration, checked as code: the official
// images they run in cannot be pulled on machines without a registry, so their runtime checks run
// only where the images are present, and say so when skipped.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GenericContainer, Wait } from 'testcontainers';
import { parse } from 'yaml';
import { repoRoot } from '../support/paths.js';
import { useRyukOnlyWhereAvailable } from '../support/ryuk.js';
import { buildServiceImage } from '../support/service-image.js';

const run = promisify(execFile);
const grafanaDir = join(repoRoot, 'monitoring/grafana');
const elkDir = join(repoRoot, 'monitoring/elk');

interface Target {
  refId: string;
  expr: string;
  datasource: { uid: string };
}
interface Panel {
  id: number;
  title: string;
  datasource: { uid: string };
  targets: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
}

async function dashboards(): Promise<Record<string, Dashboard>> {
  const files = (await readdir(join(grafanaDir, 'dashboards'))).filter((file) => file.endsWith('.json'));
  const entries = await Promise.all(
    files.map(async (file): Promise<[string, Dashboard]> => [
      file,
      JSON.parse(await readFile(join(grafanaDir, 'dashboards', file), 'utf8')) as Dashboard,
    ]),
  );
  return Object.fromEntries(entries);
}

interface ComposeService {
  image?: string;
  user?: string;
  entrypoint?: string[];
  environment?: Record<string, string | null>;
  volumes?: { source?: string; target: string; read_only?: boolean }[];
  logging?: { driver?: string };
  cap_drop?: string[];
  security_opt?: string[];
}

/** docker-compose.yml as Compose resolves it with both profiles (and the ELK overlay when asked), with no UI password set (a developer's .env is not read). */
async function composeModel(files: string[] = ['docker-compose.yml']): Promise<Record<string, ComposeService>> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    COMPOSE_PROJECT_NAME: 'refereezy-config-check',
    DB_PASSWORD: 'x',
    MAIL_CATCHALL_PASSWORD: 'x',
    MONITOR_DB_PASSWORD: 'x',
    BASTION_AUTHORIZED_KEYS: 'x',
    BACKUP_CIPHER_PASS: 'x',
    S3_ACCESS_KEY: 'x',
    S3_SECRET_KEY: 'x',
  };
  for (const name of [
    'GRAFANA_ADMIN_PASSWORD',
    'ELASTIC_PASSWORD',
    'KIBANA_SYSTEM_PASSWORD',
    'FILEBEAT_ES_PASSWORD',
    'COMPOSE_FILE',
    'COMPOSE_PROFILES',
  ])
    Reflect.deleteProperty(env, name);
  const { stdout } = await run(
    'docker',
    [
      'compose',
      '--env-file',
      '/dev/null',
      ...files.flatMap((file) => ['-f', file]),
      '--profile',
      'grafana',
      '--profile',
      'elk',
      'config',
      '--format',
      'json',
    ],
    { cwd: repoRoot, env },
  );
  return (JSON.parse(stdout) as { services: Record<string, ComposeService> }).services;
}

/** The image a compose service runs, as docker-compose.yml pins it (profiles included). */
async function composeImage(service: string): Promise<string> {
  const image = (await composeModel())[service]?.image;
  assert.ok(image, `${service} has an image`);
  return image;
}

async function imagePresent(image: string): Promise<boolean> {
  return run('docker', ['image', 'inspect', image]).then(
    () => true,
    () => false,
  );
}

describe('Grafana as code', () => {
  let boards: Record<string, Dashboard>;
  let datasourceUid: string;
  before(async () => {
    boards = await dashboards();
    const provisioned = parse(await readFile(join(grafanaDir, 'provisioning/datasources/prometheus.yml'), 'utf8')) as {
      datasources: { uid: string; type: string }[];
    };
    const [prometheus] = provisioned.datasources;
    assert.equal(prometheus?.type, 'prometheus');
    datasourceUid = prometheus.uid;
  });

  it('has the four dashboards, each with a unique uid and only the provisioned data source', () => {
    assert.deepEqual(Object.keys(boards).sort(), [
      'api-red.json',
      'hosts.json',
      'platform-overview.json',
      'postgres.json',
    ]);
    const uids = Object.values(boards).map((board) => board.uid);
    assert.equal(new Set(uids).size, uids.length);
    for (const [file, board] of Object.entries(boards)) {
      assert.ok(board.panels.length > 0, `${file} has panels`);
      for (const panel of board.panels) {
        assert.equal(panel.datasource.uid, datasourceUid, `${file}: panel "${panel.title}"`);
        assert.ok(panel.targets.length > 0, `${file}: panel "${panel.title}" has queries`);
        for (const target of panel.targets)
          assert.equal(target.datasource.uid, datasourceUid, `${file}: "${panel.title}" ${target.refId}`);
      }
    }
  });

  it('has only valid PromQL, as parsed by promtool', async () => {
    const image = await buildServiceImage('prometheus');
    const expressions = Object.entries(boards).flatMap(([file, board]) =>
      board.panels.flatMap((panel) =>
        panel.targets.map((target) => ({ where: `${file}: "${panel.title}"`, expr: target.expr })),
      ),
    );
    const invalid: string[] = [];
    for (const { where, expr } of expressions) {
      await run('docker', [
        'run',
        '--rm',
        '--network',
        'none',
        '--entrypoint',
        'promtool',
        image,
        '--experimental',
        'promql',
        'format',
        expr,
      ]).catch((error: unknown) => {
        invalid.push(`${where}: ${expr}: ${(error as { stderr?: string }).stderr ?? String(error)}`);
      });
    }
    assert.deepEqual(invalid, []);
  });

  it('when its official image is here, then Grafana starts with the data source and the dashboards loaded', async (t) => {
    const image = await composeImage('grafana');
    if (!(await imagePresent(image))) {
      t.skip(
        `${image} is not on this machine and no registry answers here: Grafana runs where the image can be pulled`,
      );
      return;
    }
    await useRyukOnlyWhereAvailable();
    const password = randomBytes(12).toString('hex');
    const grafana = await new GenericContainer(image)
      .withEnvironment({ PROMETHEUS_URL: 'http://prometheus:9090', GF_SECURITY_ADMIN_PASSWORD: password })
      .withBindMounts([
        { source: join(grafanaDir, 'provisioning'), target: '/etc/grafana/provisioning', mode: 'ro' },
        { source: join(grafanaDir, 'dashboards'), target: '/var/lib/grafana/dashboards', mode: 'ro' },
      ])
      .withExposedPorts(3000)
      .withWaitStrategy(Wait.forHttp('/api/health', 3000))
      .start();
    try {
      const search = await fetch(`http://${grafana.getHost()}:${grafana.getMappedPort(3000)}/api/search?type=dash-db`, {
        headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` },
      });
      const found = ((await search.json()) as { uid: string }[]).map((board) => board.uid).sort();
      assert.deepEqual(
        found,
        Object.values(boards)
          .map((board) => board.uid)
          .sort(),
      );
    } finally {
      await grafana.stop();
    }
  });
});

describe('ELK as code', () => {
  it('ships every container log to Elasticsearch through the GELF log driver, decoding JSON lines (the API logs ECS), as its own writer user', async () => {
    const filebeat = parse(await readFile(join(elkDir, 'filebeat.yml'), 'utf8')) as {
      'filebeat.inputs': { type: string; host: string; processors: Record<string, unknown>[] }[];
      'output.elasticsearch': { hosts: string[]; username: string; password: string };
    };
    const [input] = filebeat['filebeat.inputs'];
    assert.equal(input?.type, 'udp');
    assert.equal(input.host, '0.0.0.0:12201');
    assert.equal(
      input.processors.filter((processor) => 'decode_json_fields' in processor).length,
      2,
      'the GELF datagram, then the JSON line it carries',
    );
    assert.match(filebeat['output.elasticsearch'].hosts[0] ?? '', /elasticsearch:9200/);
    assert.equal(filebeat['output.elasticsearch'].username, 'filebeat_writer');
    assert.equal(filebeat['output.elasticsearch'].password, '${FILEBEAT_ES_PASSWORD}');
    const kibana = parse(await readFile(join(elkDir, 'kibana.yml'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(kibana['elasticsearch.hosts'], ['http://elasticsearch:9200']);
    assert.equal(kibana['elasticsearch.username'], 'kibana_system');
    assert.equal(kibana['elasticsearch.password'], '${KIBANA_SYSTEM_PASSWORD}');

    // With the overlay, every service but Filebeat logs to it; nothing is left on json-file unseen.
    const services = await composeModel(['docker-compose.yml', 'docker-compose.elk.yml']);
    const notShipped = Object.entries(services)
      .filter(([name, service]) => name !== 'filebeat' && service.logging?.driver !== 'gelf')
      .map(([name]) => name);
    assert.deepEqual(notShipped, []);
  });

  it('when the compose file is read, then Filebeat is not root, has no Docker socket nor host log mount, and Elasticsearch has security on with no default password', async () => {
    const services = await composeModel();
    const filebeat = services['filebeat'];
    assert.ok(filebeat);
    assert.ok(
      filebeat.user === undefined || !/^(root|0)(:|$)/.test(filebeat.user),
      `filebeat runs as ${filebeat.user ?? 'its image user'}`,
    );
    assert.deepEqual(
      (filebeat.volumes ?? []).filter((volume) =>
        /docker\.sock|\/var\/lib\/docker/.test(`${volume.source ?? ''} ${volume.target}`),
      ),
      [],
    );
    for (const name of ['grafana', 'elasticsearch', 'kibana', 'filebeat', 'elk-setup']) {
      const service = services[name];
      assert.ok(service, name);
      assert.deepEqual(service.cap_drop, ['ALL'], name);
      assert.deepEqual(service.security_opt, ['no-new-privileges:true'], name);
    }
    const elasticsearch = services['elasticsearch']?.environment ?? {};
    assert.equal(elasticsearch['xpack.security.enabled'], 'true');
    assert.equal(elasticsearch['ELASTIC_PASSWORD'] ?? '', '', 'no default elastic password');
    assert.match(services['elasticsearch']?.entrypoint?.join(' ') ?? '', /ELASTIC_PASSWORD is not set/);
    assert.equal(
      services['grafana']?.environment?.['GF_SECURITY_ADMIN_PASSWORD'] ?? '',
      '',
      'no default Grafana password',
    );
    assert.match(services['grafana']?.entrypoint?.join(' ') ?? '', /GRAFANA_ADMIN_PASSWORD is not set/);
  });

  it('when scripts/stack makes or completes .env, then every UI gets a generated password, and an old "admin" is replaced', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stack-env-'));
    try {
      await mkdir(join(dir, 'scripts'));
      await copyFile(join(repoRoot, 'scripts/stack'), join(dir, 'scripts/stack'));
      await copyFile(join(repoRoot, '.env.example'), join(dir, '.env.example'));
      const names = [
        'GRAFANA_ADMIN_PASSWORD',
        'ELASTIC_PASSWORD',
        'KIBANA_SYSTEM_PASSWORD',
        'FILEBEAT_ES_PASSWORD',
        'DB_PASSWORD',
        'MONITOR_DB_PASSWORD',
        'MAIL_CATCHALL_PASSWORD',
      ];
      const values = async () =>
        Object.fromEntries(
          (await readFile(join(dir, '.env'), 'utf8'))
            .split('\n')
            .map((line) => line.split('=', 2) as [string, string])
            .filter(([name]) => names.includes(name)),
        );
      await run('bash', [join(dir, 'scripts/stack'), 'env']);
      const fresh = await values();
      for (const name of names) assert.match(fresh[name] ?? '', /^[0-9a-f]{48}$/, name);

      const old = (await readFile(join(dir, '.env'), 'utf8'))
        .replace(/^GRAFANA_ADMIN_PASSWORD=.*$/m, 'GRAFANA_ADMIN_PASSWORD=admin')
        .replace(/^ELASTIC_PASSWORD=.*\n/m, '');
      await writeFile(join(dir, '.env'), old);
      await run('bash', [join(dir, 'scripts/stack'), 'env']);
      const completed = await values();
      assert.match(completed['GRAFANA_ADMIN_PASSWORD'] ?? '', /^[0-9a-f]{48}$/);
      assert.match(completed['ELASTIC_PASSWORD'] ?? '', /^[0-9a-f]{48}$/);
      assert.equal(completed['DB_PASSWORD'], fresh['DB_PASSWORD'], 'a secret already set is kept');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('when its official images are here, then Filebeat accepts its configuration', async (t) => {
    const image = await composeImage('filebeat');
    if (!(await imagePresent(image))) {
      t.skip(`${image} is not on this machine and no registry answers here: ELK runs where the images can be pulled`);
      return;
    }
    const { stdout } = await run('docker', [
      'run',
      '--rm',
      '--network',
      'none',
      '-e',
      'FILEBEAT_ES_PASSWORD=only-for-the-check',
      '-v',
      `${join(elkDir, 'filebeat.yml')}:/usr/share/filebeat/filebeat.yml:ro`,
      image,
      'filebeat',
      'test',
      'config',
      '--strict.perms=false',
    ]);
    assert.match(stdout, /Config OK/);
  });
});
