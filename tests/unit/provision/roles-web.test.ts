import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Host } from '../../../provision/inventories/schema.js';
import {
  apiHost,
  exporterDefaults,
  nginxConfSource,
  siteValues,
  wafFiles,
  wafSource,
  web,
  webAppSource,
} from '../../../provision/roles/web/index.js';
import { treeFact } from '../../../provision/facts/tree.js';
import { manifest, planTree, readTree, tarball, type TreeFile } from '../../../provision/operations/tree.js';
import { roleInputs } from '../../support/role-inputs.js';

const host = (name: string, groups: string[], vars: Record<string, unknown> = {}, address = '10.0.1.10'): Host => ({
  name,
  address,
  port: 22,
  groups,
  vars,
});
const lb = { load_balancer_cidrs: ['10.0.10.0/24'] };
const web1 = host('web1', ['web'], lb);
const api1 = host('api1', ['api'], {}, '10.0.2.10');
const api2 = host('api2', ['api'], {}, '10.0.2.11');
const inputs = await roleInputs(web, [web1]);

/** What a task would write for a file nobody has yet: the plan's diff, minus its headers and "+" marks. */
function rendered(name: RegExp, target: Host, hosts: Host[]): string {
  const task = web.tasks(target, { hosts, inputs }).find((candidate) => name.test(candidate.name));
  assert.ok(task, `no task ${String(name)}`);
  const plan = task.operation.plan(null);
  return (plan.diff ?? '')
    .split('\n')
    .slice(3)
    .filter((line) => line.startsWith('+'))
    .map((line) => `${line.slice(1)}\n`)
    .join('');
}

describe('web role: vars and the site it renders', () => {
  it('when the inventory has one api host, then /api/ goes to its address on port 3000, over kept-alive connections', () => {
    assert.deepEqual(siteValues(web1, { hosts: [web1, api1] }), {
      API_HOST: '10.0.2.10',
      API_PORT: '3000',
      DNS_RESOLVER: '169.254.169.253',
    });
    const site = rendered(/^Render the site/, web1, [web1, api1]);
    assert.match(site, /^ {2}server 10\.0\.2\.10:3000;$/m);
    assert.match(site, /^ {2}keepalive \d+;$/m);
    assert.match(site, /^ {4}proxy_pass http:\/\/api;$/m);
    // nginx's own variables are left as written.
    assert.match(site, /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
  });

  it('when api_host, api_port and dns_resolver are set, then they win', () => {
    const configured = host('web1', ['web'], {
      ...lb,
      api_host: 'api.internal.refereezy.example',
      api_port: 8080,
      dns_resolver: '10.0.0.2',
    });
    assert.deepEqual(siteValues(configured, { hosts: [configured, api1, api2] }), {
      API_HOST: 'api.internal.refereezy.example',
      API_PORT: '8080',
      DNS_RESOLVER: '10.0.0.2',
    });
  });

  it('when the api group has several hosts and no api_host is set, then the error names the host, the var and the hosts', () => {
    assert.throws(
      () => web.tasks(web1, { hosts: [web1, api1, api2], inputs }),
      /^Error: host web1: role web: vars\.api_host: required, since group api has 2 hosts \(api1, api2\)/,
    );
    assert.throws(
      () => apiHost(web1, { hosts: [web1] }, undefined),
      /host web1: role web: vars\.api_host: required, since the inventory has no host in group api/,
    );
  });

  it('when a var does not fit, then the error names the host, the role and the var', () => {
    assert.throws(
      () => web.tasks(host('web2', ['web'], { api_port: 70000 }), { hosts: [api1], inputs }),
      /^Error: host web2: role web: vars\.api_port: /,
    );
    assert.throws(
      () => web.tasks(host('web2', ['web'], { dns_resolver: 'resolver.example' }), { hosts: [api1], inputs }),
      /host web2: role web: vars\.dns_resolver: an IPv4 address/,
    );
    assert.throws(
      () => web.tasks(host('web2', ['web'], { api_host: 'api; rm -rf /' }), { hosts: [api1], inputs }),
      /host web2: role web: vars\.api_host: a host name or an IPv4 address/,
    );
  });

  it('when rendered, then nginx.conf is compose/web/nginx.conf byte for byte', () => {
    assert.equal(rendered(/^Render nginx\.conf/, web1, [web1, api1]), readFileSync(nginxConfSource, 'utf8'));
  });

  it('when rendered, then every WAF file is compose/web/modsecurity/ byte for byte, where the image puts it, and the site includes it', () => {
    for (const waf of wafFiles) {
      const escaped = waf.path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      assert.equal(
        rendered(new RegExp(`^Render ${escaped} `), web1, [web1, api1]),
        readFileSync(new URL(waf.source, wafSource), 'utf8'),
        waf.path,
      );
      const dockerfile = readFileSync(new URL('../../../compose/web/Dockerfile', import.meta.url), 'utf8');
      const copied = waf.path.startsWith('/etc/nginx/modsecurity/')
        ? /^COPY compose\/web\/modsecurity\/ \/etc\/nginx\/modsecurity\/$/m
        : /^COPY compose\/web\/modsecurity\/00-waf\.conf \/etc\/nginx\/conf\.d\/00-waf\.conf$/m;
      assert.match(dockerfile, copied, waf.path);
    }
    assert.match(
      rendered(/^Render the site/, web1, [web1, api1]),
      /^ {2}include \/etc\/nginx\/modsecurity\/site\.conf;$/m,
    );
    const main = readFileSync(new URL('main.conf', wafSource), 'utf8');
    // Blocking (the engine's default is detection only), and the CRS by an Include nginx -t accepts.
    assert.match(main, /^SecRuleEngine On$/m);
    assert.doesNotMatch(main, /^IncludeOptional/m);
    assert.match(main, /^Include \/usr\/share\/modsecurity-crs\/rules\/\*\.conf$/m);
    assert.match(readFileSync(new URL('crs-setup.conf', wafSource), 'utf8'), /setvar:tx\.paranoia_level=1"/);
  });

  it("when declared, then port 80 is open to the load balancer only ('edge': group edge, var load_balancer_cidrs) and the nginx exporter to the monitoring group", () => {
    assert.deepEqual(
      web.ingress?.map((rule) => [rule.port, rule.from]),
      [
        [80, ['edge']],
        [9113, ['monitoring']],
        [9145, ['monitoring']],
      ],
    );
  });

  it('when load_balancer_cidrs is missing or not a network, then the role refuses the host, naming the var', () => {
    assert.throws(
      () => web.tasks(host('web1', ['web']), { hosts: [api1], inputs }),
      /host web1: role web: vars\.load_balancer_cidrs: required: the load balancer's addresses or subnets/,
    );
    assert.throws(
      () => web.tasks(host('web1', ['web'], { load_balancer_cidrs: ['alb.example'] }), { hosts: [api1], inputs }),
      /vars\.load_balancer_cidrs\.0: an IP address or network/,
    );
  });

  it('when the exporter is configured, then it listens where Prometheus scrapes and reads stub_status over loopback', () => {
    const defaults = rendered(/^Point the nginx exporter/, web1, [web1, api1]);
    assert.equal(defaults, exporterDefaults);
    assert.match(
      defaults,
      /^ARGS="--web\.listen-address=:9113 --nginx\.scrape-uri=http:\/\/127\.0\.0\.1:8081\/stub_status"$/m,
    );
    // The site's stub_status server: port 8081, loopback admitted.
    const site = rendered(/^Render the site/, web1, [web1, api1]);
    assert.match(site, /listen 8081;[\s\S]*location = \/stub_status \{[\s\S]*allow 127\.0\.0\.1;/);
  });

  it('when the config changes, then the handler checks it with nginx -t before reloading', () => {
    assert.deepEqual(
      web.handlers['reload nginx']?.commands.map((command) => command.argv.join(' ')),
      ['nginx -t -q', 'systemctl reload nginx.service'],
    );
    const notifying = web
      .tasks(web1, { hosts: [api1], inputs })
      .filter((task) => task.notify?.includes('reload nginx'));
    assert.deepEqual(
      notifying.map((task) => task.name.split(' ')[0]),
      Array.from({ length: 2 + wafFiles.length }, () => 'Render'),
    );
    assert.deepEqual(
      web.handlers['restart nginx exporter']?.commands.map((command) => command.argv.join(' ')),
      ['systemctl restart prometheus-nginx-exporter.service'],
    );
  });
});

describe('web role: the web app as a tree', () => {
  const files: TreeFile[] = [
    { path: 'index.html', content: Buffer.from('<html>\n'), mtime: 1_700_000_000 },
    { path: 'assets/app.css', content: Buffer.from('body{}\n'), mtime: 1_700_000_001 },
  ];
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  it('when read from web/, then every file is there, in byte order, with its content', () => {
    const tree = readTree(webAppSource);
    assert.deepEqual(
      tree.map((entry) => entry.path),
      ['assets/app.css', 'assets/app.js', 'index.html'],
    );
    for (const entry of tree) assert.deepEqual(entry.content, readFileSync(new URL(entry.path, webAppSource)));
  });

  it('when the manifest is built, then it is what sha256sum prints for the sorted `find .` on the host', () => {
    assert.equal(manifest(files), `${sha('body{}\n')}  ./assets/app.css\n${sha('<html>\n')}  ./index.html\n`);
    const onThisMachine = execFileSync(
      'sh',
      [
        '-c',
        'cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum',
        'sh',
        new URL(webAppSource).pathname,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(manifest(readTree(webAppSource)), onThisMachine);
  });

  it('when the archive is unpacked by tar, then it holds the files, their mtimes, 0644 files and 0755 directories', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'web-tree-'));
    const archive = await tarball(files);
    try {
      execFileSync('tar', ['-xzf', '-', '-C', dir], { input: archive });
      assert.equal(readFileSync(path.join(dir, 'assets/app.css'), 'utf8'), 'body{}\n');
      assert.equal(readFileSync(path.join(dir, 'index.html'), 'utf8'), '<html>\n');
      assert.equal(statSync(path.join(dir, 'index.html')).mtimeMs, 1_700_000_000_000);
      assert.equal(statSync(path.join(dir, 'index.html')).mode & 0o7777, 0o644);
      assert.equal(statSync(path.join(dir, 'assets')).mode & 0o7777, 0o755);
      const listing = execFileSync('tar', ['-tvzf', '-'], { input: archive, encoding: 'utf8' });
      assert.match(listing, /root\/root .* assets\/app\.css/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the same files are archived twice, then the archives are the same bytes', async () => {
    assert.deepEqual(await tarball(files), await tarball(files));
    assert.deepEqual(await tarball(readTree(webAppSource)), await tarball(readTree(webAppSource)));
    assert.notDeepEqual(await tarball(files), await tarball(files.map((entry) => ({ ...entry, mtime: 1 }))));
  });

  it('when the web app is deployed, then the archive sent is the one prepared before planning, from web/', async () => {
    const task = web.tasks(web1, { hosts: [api1], inputs }).find((candidate) => candidate.name.startsWith('Deploy'));
    assert.ok(task);
    const [deploy] = task.operation.plan(null).commands;
    assert.deepEqual(deploy?.stdin, await tarball(readTree(webAppSource)));
  });

  it('when a long path is archived, then tar splits it at a slash', async () => {
    const long = `${'d'.repeat(80)}/${'e'.repeat(60)}/file.js`;
    const listing = execFileSync('tar', ['-tzf', '-'], {
      input: await tarball([{ path: long, content: Buffer.from('x'), mtime: 0 }]),
      encoding: 'utf8',
    });
    assert.ok(listing.split('\n').includes(long), listing);
  });

  it('when the host has the same manifest, then nothing is needed', () => {
    const plan = planTree({ path: '/srv/refereezy/web', files, archive: Buffer.from('archive') }, manifest(files));
    assert.equal(plan.changed, false);
    assert.equal(plan.reason, '/srv/refereezy/web holds the 2 files (sha256 of each matches)');
  });

  it('when a file differs, one is new and one is gone, then the tree is replaced and the manifest diff says which', () => {
    const current = `${sha('old')}  ./assets/app.css\n${sha('gone')}  ./old.html\n`;
    const plan = planTree({ path: '/srv/refereezy/web', files, archive: Buffer.from('archive') }, current);
    assert.equal(plan.changed, true);
    assert.equal(plan.reason, 'replace /srv/refereezy/web: 1 new, 1 changed, 1 removed');
    assert.equal(plan.commands.length, 1);
    assert.deepEqual(plan.commands[0]?.argv.slice(-2), ['sh', '/srv/refereezy/web']);
    assert.deepEqual(plan.commands[0].stdin, Buffer.from('archive'));
    assert.match(plan.diff ?? '', /^-[0-9a-f]{64} {2}\.\/old\.html$/m);
    assert.match(plan.diff ?? '', /^\+[0-9a-f]{64} {2}\.\/index\.html$/m);
  });

  it('when the directory is absent, then it is created; the probe tells absent from empty', () => {
    assert.equal(
      planTree({ path: '/srv/refereezy/web', files, archive: Buffer.alloc(0) }, null).reason,
      'create /srv/refereezy/web with 2 files',
    );
    const fact = treeFact('/srv/refereezy/web');
    assert.equal(fact.parse({ code: 0, stdout: '', stderr: '' }), null);
    assert.equal(fact.parse({ code: 0, stdout: 'directory\n', stderr: '' }), '');
    assert.equal(fact.parse({ code: 0, stdout: `directory\n${manifest(files)}`, stderr: '' }), manifest(files));
  });
});
