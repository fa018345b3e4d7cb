// Grafana's dashboards and data source, and the ELK configuration, checked as code: the official
// images they run in cannot be pulled on machines without a registry, so their runtime checks run
// only where the images are present, and say so when skipped.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
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
  const entries = await Promise.all(files.map(async (file): Promise<[string, Dashboard]> => [file, JSON.parse(await readFile(join(grafanaDir, 'dashboards', file), 'utf8')) as Dashboard]));
  return Object.fromEntries(entries);
}

/** The image a compose service runs, as docker-compose.yml pins it (profiles included). */
async function composeImage(service: string): Promise<string> {
  const { stdout } = await run('docker', ['compose', '--profile', 'grafana', '--profile', 'elk', 'config', '--format', 'json'], {
    cwd: repoRoot,
    env: { ...process.env, COMPOSE_PROJECT_NAME: 'refereezy-config-check', DB_PASSWORD: 'x', MAIL_CATCHALL_PASSWORD: 'x', MONITOR_DB_PASSWORD: 'x', BASTION_AUTHORIZED_KEYS: 'x', BACKUP_CIPHER_PASS: 'x', S3_ACCESS_KEY: 'x', S3_SECRET_KEY: 'x' },
  });
  const image = (JSON.parse(stdout) as { services: Record<string, { image?: string }> }).services[service]?.image;
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
    const provisioned = parse(await readFile(join(grafanaDir, 'provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: { uid: string; type: string }[] };
    const [prometheus] = provisioned.datasources;
    assert.equal(prometheus?.type, 'prometheus');
    datasourceUid = prometheus.uid;
  });

  it('has the four dashboards, each with a unique uid and only the provisioned data source', () => {
    assert.deepEqual(Object.keys(boards).sort(), ['api-red.json', 'hosts.json', 'platform-overview.json', 'postgres.json']);
    const uids = Object.values(boards).map((board) => board.uid);
    assert.equal(new Set(uids).size, uids.length);
    for (const [file, board] of Object.entries(boards)) {
      assert.ok(board.panels.length > 0, `${file} has panels`);
      for (const panel of board.panels) {
        assert.equal(panel.datasource.uid, datasourceUid, `${file}: panel "${panel.title}"`);
        assert.ok(panel.targets.length > 0, `${file}: panel "${panel.title}" has queries`);
        for (const target of panel.targets) assert.equal(target.datasource.uid, datasourceUid, `${file}: "${panel.title}" ${target.refId}`);
      }
    }
  });

  it('has only valid PromQL, as parsed by promtool', async () => {
    const image = await buildServiceImage('prometheus');
    const expressions = Object.entries(boards).flatMap(([file, board]) => board.panels.flatMap((panel) => panel.targets.map((target) => ({ where: `${file}: "${panel.title}"`, expr: target.expr }))));
    const invalid: string[] = [];
    for (const { where, expr } of expressions) {
      await run('docker', ['run', '--rm', '--network', 'none', '--entrypoint', 'promtool', image, '--experimental', 'promql', 'format', expr]).catch((error: unknown) => {
        invalid.push(`${where}: ${expr}: ${(error as { stderr?: string }).stderr ?? String(error)}`);
      });
    }
    assert.deepEqual(invalid, []);
  });

  it('when its official image is here, then Grafana starts with the data source and the dashboards loaded', async (t) => {
    const image = await composeImage('grafana');
    if (!(await imagePresent(image))) {
      t.skip(`${image} is not on this machine and no registry answers here: Grafana runs where the image can be pulled`);
      return;
    }
    await useRyukOnlyWhereAvailable();
    const grafana = await new GenericContainer(image)
      .withEnvironment({ PROMETHEUS_URL: 'http://prometheus:9090', GF_SECURITY_ADMIN_PASSWORD: 'admin' })
      .withBindMounts([
        { source: join(grafanaDir, 'provisioning'), target: '/etc/grafana/provisioning', mode: 'ro' },
        { source: join(grafanaDir, 'dashboards'), target: '/var/lib/grafana/dashboards', mode: 'ro' },
      ])
      .withExposedPorts(3000)
      .withWaitStrategy(Wait.forHttp('/api/health', 3000))
      .start();
    try {
      const search = await fetch(`http://${grafana.getHost()}:${grafana.getMappedPort(3000)}/api/search?type=dash-db`, {
        headers: { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
      });
      const found = ((await search.json()) as { uid: string }[]).map((board) => board.uid).sort();
      assert.deepEqual(found, Object.values(boards).map((board) => board.uid).sort());
    } finally {
      await grafana.stop();
    }
  });
});

describe('ELK as code', () => {
  it('ships every container log to Elasticsearch, decoding JSON lines (the API logs ECS)', async () => {
    const filebeat = parse(await readFile(join(elkDir, 'filebeat.yml'), 'utf8')) as {
      'filebeat.inputs': { type: string; paths: string[]; processors: Record<string, unknown>[] }[];
      'output.elasticsearch': { hosts: string[] };
    };
    const [input] = filebeat['filebeat.inputs'];
    assert.equal(input?.type, 'filestream');
    assert.deepEqual(input.paths, ['/var/lib/docker/containers/*/*.log']);
    assert.ok(input.processors.some((processor) => 'decode_json_fields' in processor), 'JSON lines are decoded');
    assert.match(filebeat['output.elasticsearch'].hosts[0] ?? '', /elasticsearch:9200/);
    const kibana = parse(await readFile(join(elkDir, 'kibana.yml'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(kibana['elasticsearch.hosts'], ['http://elasticsearch:9200']);
  });

  it('when its official images are here, then Filebeat accepts its configuration', async (t) => {
    const image = await composeImage('filebeat');
    if (!(await imagePresent(image))) {
      t.skip(`${image} is not on this machine and no registry answers here: ELK runs where the images can be pulled`);
      return;
    }
    const { stdout } = await run('docker', [
      'run', '--rm', '--network', 'none', '-v', `${join(elkDir, 'filebeat.yml')}:/usr/share/filebeat/filebeat.yml:ro`,
      image, 'filebeat', 'test', 'config', '--strict.perms=false',
    ]);
    assert.match(stdout, /Config OK/);
  });
});
