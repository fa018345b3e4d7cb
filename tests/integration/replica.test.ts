// The core replica, brought up once from docker-compose.yml by Testcontainers, and checked the way a
// user sees it: through the CDN on the host, over SSH to the bastion, and from inside each container.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient } from '../support/api-client.js';
import { request, requestLoop } from '../support/http.js';
import { connectSsh, httpThroughTunnel, sshExec, type SshTarget } from '../support/ssh.js';
import { Mailbox, type MailMessage } from '../support/mailbox.js';
import {
  composeRequiredVariables,
  runBlocks,
  runbookBlockList,
  runbookBlocks,
  runShellBlock,
} from '../support/runbook-commands.js';
import {
  deadmanTimeoutSeconds,
  publicServices,
  services,
  StartedReplica,
  type ServiceName,
} from '../support/started-replica.js';
import { describeEdge } from './replica-edge.js';
import { describeWaf } from './replica-waf.js';

let replica: StartedReplica;
let started = false;
/** An admin calling the API through the CDN, with a token from the replica's Auth emulator. */
let admin: ApiClient;

before(async () => {
  replica = await StartedReplica.start();
  started = true;
  admin = new ApiClient(replica.cdnUrl, await replica.idToken('admin@refereezy.test', 'admin'));
});

after(async () => {
  if (!started) return;
  try {
    for (const report of await replica.unhealthyServiceLogs()) console.error(report);
  } finally {
    await replica.down();
  }
});

describe('request path: CDN → LB → web → API → Postgres', () => {
  it('when the web app is requested through the CDN, then a web server answers with the page', async () => {
    const page = await request(`${replica.cdnUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.body, /<title>Refereezy<\/title>/);
    assert.match(page.headers.get('x-served-by') ?? '', /^web[12]$/);
    assert.ok(page.headers.get('x-request-id'), 'the LB gives every request an id');
  });

  it('when a static asset is requested twice, then the CDN serves the second from its cache', async () => {
    const url = `${replica.cdnUrl}/assets/app.css?v=${Date.now()}`;
    const first = await request(url);
    const second = await request(url);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-cache'), 'MISS');
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-cache'), 'HIT');
    assert.equal(second.body, first.body);
  });

  it('when a referee is registered through the CDN, then the API stores it in Postgres and serves it back', async () => {
    const email = `referee-${Date.now()}@example.org`;
    const created = await admin.post('/api/referees', {
      name: 'Bibiana Steinhaus',
      email,
      licenceLevel: 'international',
    });
    assert.equal(created.status, 201, created.body);
    assert.equal(created.headers.get('x-cache'), 'PASS', 'API calls pass through the CDN uncached');
    const referee = JSON.parse(created.body) as { id: number; email: string };
    assert.equal(created.headers.get('location'), `/api/referees/${referee.id}`);

    const fetched = await admin.get(`/api/referees/${referee.id}`);
    assert.equal(fetched.status, 200);
    assert.equal((JSON.parse(fetched.body) as { email: string }).email, email);

    // The row is in Postgres itself, read with psql inside the db container.
    const row = await replica.exec('db', [
      'psql',
      '-XtA',
      '-d',
      'refereezy',
      '-c',
      `SELECT name, licence_level FROM referee WHERE id = ${referee.id}`,
    ]);
    assert.equal(row.exitCode, 0, row.output);
    assert.equal(row.output.trim(), 'Bibiana Steinhaus|international');
  });

  it('when a registration is invalid or repeated, then the API answers 400 or 409 naming the field and stores nothing', async () => {
    const invalid = await admin.post('/api/referees', { name: '', email: 'not-an-email', licenceLevel: 'galactic' });
    assert.equal(invalid.status, 400);
    const fields = (JSON.parse(invalid.body) as { error: { fields: { field: string }[] } }).error.fields.map(
      (f) => f.field,
    );
    assert.deepEqual(fields.sort(), ['body.email', 'body.licenceLevel', 'body.name']);

    const email = `twice-${Date.now()}@example.org`;
    assert.equal((await admin.post('/api/referees', { name: 'Once', email, licenceLevel: 'regional' })).status, 201);
    const repeated = await admin.post('/api/referees', {
      name: 'Twice',
      email: email.toUpperCase(),
      licenceLevel: 'regional',
    });
    assert.equal(repeated.status, 409);
    const count = await replica.exec('db', [
      'psql',
      '-XtA',
      '-d',
      'refereezy',
      '-c',
      `SELECT count(*) FROM referee WHERE lower(email) = lower('${email}')`,
    ]);
    assert.equal(count.output.trim(), '1');
  });
});

describe('runbooks', () => {
  it('when the deactivate-referee runbook is followed on the replica, then the referee is refused at once, and the undo lets them sign in again', async () => {
    const blocks = runbookBlocks('deactivate-referee.md', 'replica');
    const block = (name: string) =>
      blocks.get(name) ?? assert.fail(`deactivate-referee.md has no replica block ${name}`);
    // A referee with a Firebase user, signed in, whom an admin registered.
    const email = `runbook-${Date.now()}@refereezy.test`;
    const token = await replica.idToken(email, 'referee');
    const uid = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { user_id: string })
      .user_id;
    assert.equal(
      (
        await admin.post('/api/referees', {
          name: 'Runbook Referee',
          email,
          licenceLevel: 'regional',
          firebaseUid: uid,
        })
      ).status,
      201,
    );
    const referee = new ApiClient(replica.cdnUrl, token);
    assert.equal((await referee.get('/api/matches')).status, 200);

    const env = {
      ...composeRequiredVariables(),
      COMPOSE_PROJECT_NAME: replica.projectName,
      API: replica.cdnUrl,
      REFEREE_EMAIL: email,
    };
    const output = await runBlocks([block('setup'), block('deactivate'), block('check')], env);
    assert.match(output, /"active":false/);
    assert.match(output, /is deactivated/);
    const refused = await referee.get('/api/matches');
    assert.equal(refused.status, 401, refused.body);

    await sleep(1_100); // a new sign-in must be later than the revocation (whole seconds)
    assert.match(await runBlocks([block('setup'), block('undo')], env), /"active":true/);
    const signedInAgain = new ApiClient(replica.cdnUrl, await replica.idToken(email, 'referee'));
    assert.equal((await signedInAgain.get('/api/matches')).status, 200);
  });
});

describe('load balancing and failover', () => {
  it('when requests arrive, then the LB spreads them over both web servers', async () => {
    const servedBy = new Set<string>();
    for (let i = 0; i < 10; i += 1) {
      const answer = await admin.get('/api/referees?limit=1');
      assert.equal(answer.status, 200);
      servedBy.add(answer.headers.get('x-served-by') ?? 'unknown');
    }
    assert.deepEqual([...servedBy].sort(), ['web1', 'web2']);
  });

  it('when web1 stops under traffic, then web2 answers every request, and web1 rejoins once back', async () => {
    const stopped = (async () => {
      await sleep(1_000);
      await replica.stopService('web1');
      await sleep(4_000); // the LB has marked web1 down after two failed 1 s checks
    })();
    try {
      const { outcomes, failures } = await requestLoop(`${replica.cdnUrl}/api/referees?limit=1`, stopped, {
        authorization: `Bearer ${admin.idToken ?? ''}`,
      });
      assert.deepEqual(failures, [], `requests failed while web1 stopped: ${failures.slice(0, 5).join('; ')}`);
      // At least one request a second across the ~14 s of stop and failover (a loaded CI machine
      // manages about that; an idle one hundreds).
      assert.ok(outcomes.length >= 10, `only ${outcomes.length} requests were sent`);
      // Asked once web1 is down (on a loaded machine the loop's last ten may predate the stop).
      const after: string[] = [];
      for (let i = 0; i < 10; i += 1)
        after.push((await admin.get('/api/referees?limit=1')).headers.get('x-served-by') ?? 'unknown');
      assert.deepEqual(new Set(after), new Set(['web2']), 'after the failover only web2 answers');
    } finally {
      // Even when an assertion failed: the suites after this one need web1.
      await replica.startService('web1');
    }
    let rejoined = false;
    for (let attempt = 0; attempt < 40 && !rejoined; attempt += 1) {
      const answer = await admin.get('/api/referees?limit=1');
      rejoined = answer.headers.get('x-served-by') === 'web1';
      if (!rejoined) await sleep(250);
    }
    assert.ok(rejoined, 'web1 serves again after its restart');
  });
});

describe('security groups', () => {
  it('when any public-network container dials the DB or Firebase, by name or by address, then it gets no connection', async () => {
    const dbAddress = (await replica.addressesOf('db')).private;
    assert.ok(dbAddress, 'the db has an address on the private network');
    // Every probe waits up to 3 s for a connection that must not come: run them side by side.
    const firebaseAddress = (await replica.addressesOf('firebase')).private ?? 'firebase';
    const targets: [string, number][] = [
      ['db', 5432],
      [dbAddress, 5432],
      ['firebase', 9099],
      [firebaseAddress, 9099],
      [firebaseAddress, 8080],
    ];
    const probes = publicServices.flatMap((service) =>
      targets.map(async ([host, port]) => ({
        probe: `${service} → ${host}:${port}`,
        connected: await replica.canConnect(service, host, port),
      })),
    );
    assert.deepEqual(
      (await Promise.all(probes)).filter((p) => p.connected).map((p) => p.probe),
      [],
    );
    // The control: the API does reach them.
    assert.equal(await replica.canConnect('api', 'db', 5432), true, 'api reaches db:5432');
    assert.equal(await replica.canConnect('api', 'firebase', 9099), true, 'api reaches firebase:9099');
  });

  it('when the CDN, the LB or the bastion dial the API, then they get no connection; the web servers do', async () => {
    const apiAddresses = Object.values(await replica.addressesOf('api'));
    const probes = (['cdn', 'lb', 'bastion'] as const).flatMap((service) =>
      ['api', ...apiAddresses].map(async (host) => ({
        probe: `${service} → ${host}:3000`,
        connected: await replica.canConnect(service, host, 3000),
      })),
    );
    assert.deepEqual(
      (await Promise.all(probes)).filter((p) => p.connected).map((p) => p.probe),
      [],
    );
    assert.equal(await replica.canConnect('web1', 'api', 3000), true);
    assert.equal(await replica.canConnect('web2', 'api', 3000), true);
  });

  it("when the host looks at published ports, then only the CDN's edge and the bastion are there, on 127.0.0.1", async () => {
    const published: Partial<Record<ServiceName, string[]>> = { 'cdn-tls': ['443/tcp', '80/tcp'], bastion: ['22/tcp'] };
    for (const service of services) {
      const ports = await replica.publishedPorts(service);
      const expected = published[service];
      if (expected) {
        assert.deepEqual(
          ports.map((port) => port.replace(/^127\.0\.0\.1:\d+->/, '')).sort(),
          expected,
          ports.join(', '),
        );
      } else {
        assert.deepEqual(ports, [], `${service} publishes ${ports.join(', ')}`);
      }
    }
  });

  it('when the private networks are inspected, then they have no route out (internal)', async () => {
    assert.equal(await replica.networkIsInternal('app'), true);
    assert.equal(await replica.networkIsInternal('private'), true);
    assert.equal(await replica.networkIsInternal('monitoring'), true);
    assert.equal(await replica.networkIsInternal('metrics'), true);
    assert.equal(await replica.networkIsInternal('edge-metrics'), true);
    assert.equal(await replica.networkIsInternal('ops'), true);
    assert.equal(await replica.networkIsInternal('assets'), true);
    assert.equal(await replica.networkIsInternal('public'), false);
  });

  // The monitoring and ops planes: who may reach what, dialled from inside each container. Alerting
  // (Alertmanager, the notifiers, the dead man's switch) is reachable from monitoring only; Prometheus
  // reaches every metrics port; operators (the bastion) reach only the UIs. (What shares a scrape
  // network — the API and the exporters on metrics, the LB and the web exporters on edge-metrics —
  // can read each other's metrics and Prometheus' read-only API: Docker networks have no per-port rules.)
  const monitoringMatrix: [from: ServiceName, host: string, port: number, allowed: boolean][] = [
    ['prometheus', 'api', 9464, true],
    ['prometheus', 'lb', 8404, true],
    ['prometheus', 'web1-exporter', 9113, true],
    ['prometheus', 'node-exporter', 9100, true],
    ['prometheus', 'postgres-exporter', 9187, true],
    ['prometheus', 'blackbox-exporter', 9115, true],
    ['prometheus', 'alertmanager', 9093, true],
    ['prometheus', 'db', 5432, false],
    ['alertmanager', 'sms-notifier', 9095, true],
    ['alertmanager', 'deadman', 9096, true],
    ['alertmanager', 'mail', 25, true],
    ['alertmanager', 'api', 9464, false],
    ['deadman', 'mail', 25, true],
    ['deadman', 'prometheus', 9090, true],
    ['daily-report', 'prometheus', 9090, true],
    ['bastion', 'prometheus', 9090, true],
    ['bastion', 'alertmanager', 9093, true],
    ['bastion', 'sms-notifier', 9095, false],
    ['bastion', 'deadman', 9096, false],
    ['bastion', 'mail', 25, false],
    ['bastion', 'api', 9464, false],
    ['bastion', 'node-exporter', 9100, false],
    // The API: its metrics are scraped, but it reaches no part of the alerting.
    ['api', 'alertmanager', 9093, false],
    ['api', 'sms-notifier', 9095, false],
    ['api', 'deadman', 9096, false],
    ['cdn', 'prometheus', 9090, false],
    ['web1', 'prometheus', 9090, false],
    ['web1', 'alertmanager', 9093, false],
    ['web2', 'node-exporter', 9100, false],
    ['lb', 'alertmanager', 9093, false],
    ['lb', 'api', 9464, false],
    ['blackbox-exporter', 'alertmanager', 9093, false],
    ['blackbox-exporter', 'api', 9464, false],
    ['node-exporter', 'alertmanager', 9093, false],
    ['node-exporter', 'sms-notifier', 9095, false],
    ['postgres-exporter', 'alertmanager', 9093, false],
    ['postgres-exporter', 'prometheus', 9090, true],
    ['db', 'prometheus', 9090, false],
    ['firebase', 'prometheus', 9090, false],
  ];

  it('when each side of the monitoring and ops planes dials the others, then only what the rules allow connects', async () => {
    const outcomes = await Promise.all(
      monitoringMatrix.map(async ([from, host, port, allowed]) => ({
        probe: `${from} → ${host}:${port}`,
        allowed,
        connected: await replica.canConnect(from, host, port),
      })),
    );
    const wrong = outcomes
      .filter((outcome) => outcome.connected !== outcome.allowed)
      .map((outcome) => `${outcome.probe}: ${outcome.connected ? 'connected, must not' : 'refused, must connect'}`);
    assert.deepEqual(wrong, []);
  });

  it('when anything asks Prometheus to quit or reload, then it refuses (no lifecycle API)', async () => {
    const ask = (path: string) =>
      replica.exec('deadman', [
        'node',
        '-e',
        `fetch('http://prometheus:9090${path}', { method: 'POST' }).then(async (r) => console.log(r.status, await r.text()))`,
      ]);
    for (const path of ['/-/quit', '/-/reload']) {
      const { exitCode, output } = await ask(path);
      assert.equal(exitCode, 0, output);
      assert.match(output, /^403 .*[Ll]ifecycle API is not enabled/, `${path}: ${output}`);
    }
    assert.match(
      (await request(`http://127.0.0.1:${(await replica.monitoringTap()).port('prometheus', 9090)}/-/ready`)).body,
      /Ready/,
    );
  });
});

describe('least privilege', () => {
  // What each service's processes need beyond no capability at all (docker-compose.yml says why).
  const capabilities: Partial<Record<ServiceName, string[]>> = {
    web1: ['CHOWN', 'KILL', 'NET_BIND_SERVICE', 'SETGID', 'SETUID'],
    web2: ['CHOWN', 'KILL', 'NET_BIND_SERVICE', 'SETGID', 'SETUID'],
    mail: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL', 'NET_BIND_SERVICE', 'SETGID', 'SETUID', 'SYS_CHROOT'],
    bastion: [
      'AUDIT_WRITE',
      'CHOWN',
      'DAC_OVERRIDE',
      'FOWNER',
      'KILL',
      'NET_BIND_SERVICE',
      'SETGID',
      'SETUID',
      'SYS_CHROOT',
    ],
  };
  const rootServices = new Set<ServiceName>(['web1', 'web2', 'mail', 'bastion']);
  const writableRoot = new Set<ServiceName>([
    'cdn',
    'web1',
    'web2',
    'db',
    'mail',
    'bastion',
    'prometheus',
    'alertmanager',
  ]);

  it('when the containers are inspected, then each drops every capability but its own, with no-new-privileges, as a non-root user unless it must start as root', async () => {
    for (const service of services) {
      const security = await replica.securityOf(service);
      assert.deepEqual(security.capDrop, ['ALL'], service);
      assert.deepEqual(
        security.capAdd.map((cap) => cap.replace(/^CAP_/, '')).sort(),
        capabilities[service] ?? [],
        service,
      );
      assert.ok(
        security.securityOpt.includes('no-new-privileges:true'),
        `${service}: ${security.securityOpt.join(', ')}`,
      );
      assert.equal(security.readOnlyRoot, !writableRoot.has(service), `${service}: read-only root`);
      const { output } = await replica.exec(service, ['id', '-u']);
      if (rootServices.has(service)) assert.equal(output.trim(), '0', service);
      else assert.notEqual(output.trim(), '0', `${service} runs as root`);
    }
  });

  it('when a process inside a container tries to gain privileges, then the kernel refuses (NoNewPrivs, no effective capabilities)', async () => {
    for (const service of ['lb', 'cdn', 'api', 'prometheus', 'deadman'] as const) {
      const { output } = await replica.exec(service, ['grep', '-E', '^(NoNewPrivs|CapEff)', '/proc/1/status']);
      assert.match(output, /NoNewPrivs:\s+1/, `${service}: ${output}`);
      assert.match(output, /CapEff:\s+0+\n/, `${service}: ${output}`);
    }
  });
});

describe('bastion', () => {
  let target: SshTarget;

  before(async () => {
    const fingerprint = await replica.exec('bastion', [
      'ssh-keygen',
      '-lf',
      '/etc/ssh/host_keys/ssh_host_ed25519_key.pub',
      '-E',
      'sha256',
    ]);
    const hostKeyFingerprint = fingerprint.output.split(' ')[1] ?? '';
    assert.match(hostKeyFingerprint, /^SHA256:/);
    target = { port: replica.bastionPort, username: replica.bastionUser, hostKeyFingerprint };
  });

  it('when an operator connects with the authorised key, then the jump user is let in but gets no shell', async () => {
    const client = await connectSsh(target, { privateKey: replica.bastionKey.privateKey });
    try {
      const { code, stdout } = await sshExec(client, 'hostname && id -un');
      assert.notEqual(code, 0);
      assert.doesNotMatch(stdout, /^bastion$/m);
    } finally {
      client.end();
    }
  });

  it('when the user has a password, then logging in with it is still refused', async () => {
    const password = 'correct horse battery staple';
    const set = await replica.exec('bastion', ['sh', '-c', `echo '${replica.bastionUser}:${password}' | chpasswd`]);
    assert.equal(set.exitCode, 0, set.output);
    // Refused, or cut off once its two tries are spent (MaxAuthTries 2: password, then keyboard-interactive).
    await assert.rejects(
      connectSsh(target, { password, tryKeyboard: true }),
      (error: Error & { level?: string }) =>
        error.level === 'client-authentication' || /Too many authentication failures/.test(error.message),
    );
  });

  it('when root holds the authorised key, then root login is still refused', async () => {
    const key = replica.bastionKey.publicKey;
    const install = await replica.exec('bastion', [
      'sh',
      '-c',
      `install -d -m 700 /root/.ssh && echo '${key}' > /root/.ssh/authorized_keys`,
    ]);
    assert.equal(install.exitCode, 0, install.output);
    await assert.rejects(connectSsh({ ...target, username: 'root' }, { privateKey: replica.bastionKey.privateKey }), {
      level: 'client-authentication',
    });
  });

  it("when an operator jumps through the bastion, then the monitoring UIs and HAProxy's stats answer, the web servers, the DB and the API do not", async () => {
    const client = await connectSsh(target, { privateKey: replica.bastionKey.privateKey });
    try {
      // The monitoring UIs are the operators' through the bastion (network ops, PermitOpen)…
      assert.match(await httpThroughTunnel(client, 'prometheus', 9090, '/-/ready'), /^HTTP\/1\.[01] 200 /);
      assert.match(await httpThroughTunnel(client, 'lb', 8404, '/stats'), /^HTTP\/1\.[01] 200 /);
      // …but nothing else: not a web server, not the DB, nor the API's own port.
      await assert.rejects(httpThroughTunnel(client, 'web1', 80, '/healthz'));
      await assert.rejects(httpThroughTunnel(client, 'db', 5432, '/'));
      await assert.rejects(httpThroughTunnel(client, 'api', 3000, '/healthz'));
    } finally {
      client.end();
    }
  });
});

// After the suites above (their traffic must have passed the WAF untouched), before those that stop services.
describeWaf(() => replica);
describeEdge(() => replica);

// Last: it stops the API. Alert timings of the replica: scrape and evaluation every 5 s, TargetDown
// after 1 minute down, critical group_wait 10 s, warning 30 s, group_interval 15 s.
describe('monitoring and alerting', () => {
  let mailbox: Mailbox;
  let smsOutbox: () => Promise<string[]>;
  let alertmanagerUrl: string;

  before(async () => {
    const tap = await replica.monitoringTap();
    mailbox = await Mailbox.connect('127.0.0.1', tap.port('mail', 143), 'catchall', replica.mailCatchallPassword);
    const notifierUrl = `http://127.0.0.1:${tap.port('sms-notifier', 9095)}`;
    smsOutbox = async () =>
      (JSON.parse((await request(`${notifierUrl}/outbox`)).body) as { messages: { text: string }[] }).messages.map(
        (m) => m.text,
      );
    alertmanagerUrl = `http://127.0.0.1:${tap.port('alertmanager', 9093)}`;
  });

  after(async () => {
    await mailbox.close();
  });

  const subjectHas =
    (...words: string[]) =>
    (message: MailMessage) =>
      words.every((word) => message.subject.includes(word));
  const aboutTheApi =
    (...words: string[]) =>
    (message: MailMessage) =>
      subjectHas(...words)(message) && /api:9464/.test(message.text + message.html);

  /** Mail and SMS sent before a step may match its words (an API slow to start raises TargetDown too): each step looks only past these. */
  let sinceUid = 0;
  let sinceSms = 0;
  async function markNow(): Promise<void> {
    sinceUid = Math.max(0, ...(await mailbox.messages()).map((message) => message.uid));
    sinceSms = (await smsOutbox()).length;
  }
  const newMail = (predicate: (message: MailMessage) => boolean) => (message: MailMessage) =>
    message.uid > sinceUid && predicate(message);

  async function smsWith(words: string[], timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await smsOutbox()).slice(sinceSms).find((text) => words.every((word) => text.includes(word)));
      if (found) return found;
      if (Date.now() > deadline)
        assert.fail(
          `no SMS with ${words.join(' + ')} within ${timeoutMs / 1000} s; outbox: ${JSON.stringify(await smsOutbox())}`,
        );
      await sleep(1_000);
    }
  }

  it('when the API stops, then a critical alert arrives by SMS and by email; a synthetic warning by email only', async () => {
    // The warning goes straight to Alertmanager, as Prometheus would send it.
    const warning = await request(`${alertmanagerUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          labels: { alertname: 'SyntheticWarning', severity: 'warning', service: 'tests' },
          annotations: { summary: 'A warning the tests raised' },
        },
      ]),
    });
    assert.equal(warning.status, 200, warning.body);
    await markNow();
    await replica.stopService('api');

    const [warningMail] = await mailbox.waitFor(subjectHas('SyntheticWarning'), 90_000);
    assert.ok(warningMail);
    assert.match(warningMail.to.join(','), /admins@refereezy\.local/);

    const sms = await smsWith(['FIRING critical', 'TargetDown', 'api'], 150_000);
    assert.match(sms, /TargetDown on api/);
    // The API's own alert: exporters still starting may have raised other TargetDown mails before.
    const [criticalMail] = await mailbox.waitFor(newMail(aboutTheApi('FIRING', 'TargetDown')), 60_000);
    assert.ok(criticalMail);
    assert.match(criticalMail.text + criticalMail.html, /api:9464/);

    assert.deepEqual(
      (await smsOutbox()).filter((text) => text.includes('SyntheticWarning')),
      [],
      'a warning never pages',
    );
  });

  it('when the daily report is asked for, then the admins get it with real figures', async () => {
    const run = await replica.exec('daily-report', ['node', 'dist/main.js', 'daily-report', '--now']);
    assert.equal(run.exitCode, 0, run.output);
    const [report] = await mailbox.waitFor(subjectHas('Daily health report'), 30_000);
    assert.ok(report);
    assert.match(report.subject, /[1-9]\d* alerts? firing/);
    assert.match(report.text, /PostgreSQL\s+up/);
    assert.match(report.text, /prometheus\s+\d+\.\d+ %/);
    assert.match(report.text, /TargetDown/);
    // The backups: the db's scheduler took its first backup at start; no verification has run yet
    // (the figures themselves: monitoring/notifier/src/report/health-report.test.ts).
    assert.match(report.text, /last good backup\s+(\d+\.\d h ago|no backup reported)/);
    assert.match(
      report.text,
      /recoverable window\s+(from \d{4}-\d\d-\d\d \d\d:\d\d UTC to now \(\d+\.\d days\)|none reported)/,
    );
    assert.match(report.text, /last verification\s+(none reported|passed, \d+\.\d days ago|FAILED, \d+\.\d days ago)/);
    assert.match(report.html, /<table/);
  });

  it('when the API is back, then the resolution arrives by SMS and by email', async () => {
    await markNow();
    await replica.startService('api');
    const sms = await smsWith(['RESOLVED', 'TargetDown on api'], 90_000);
    assert.match(sms, /^\[RESOLVED critical\] TargetDown on api/);
    const [resolved] = await mailbox.waitFor(newMail(aboutTheApi('RESOLVED', 'TargetDown')), 60_000);
    assert.ok(resolved);
  });
});

// Last of all: it stops Prometheus and Alertmanager. The dead man's switch's timeout is shortened to
// deadmanTimeoutSeconds for the tests (DEADMAN_TIMEOUT); the runbook's replica commands are the ones run.
describe("dead man's switch (docs/runbooks/monitoring-down.md)", () => {
  let mailbox: Mailbox;
  let deadmanOutbox: () => Promise<string[]>;
  const blocks = runbookBlocks('monitoring-down.md', 'replica');

  before(async () => {
    const tap = await replica.monitoringTap();
    mailbox = await Mailbox.connect('127.0.0.1', tap.port('mail', 143), 'catchall', replica.mailCatchallPassword);
    const url = `http://127.0.0.1:${tap.port('deadman', 9096)}`;
    deadmanOutbox = async () =>
      (JSON.parse((await request(`${url}/outbox`)).body) as { messages: { text: string }[] }).messages.map(
        (m) => m.text,
      );
  });

  after(async () => {
    await mailbox.close();
  });

  const run = async (name: string) => {
    const block = blocks.get(name);
    assert.ok(block, `the runbook has a replica block named ${name}: ${[...blocks.keys()].join(', ')}`);
    const result = await runShellBlock(block, replica.composeEnvironment, 600_000);
    assert.equal(result.exitCode, 0, `runbook block ${name} failed:\n${result.output}`);
    return result.output;
  };

  it("when monitoring runs, then the switch has its heartbeat (the runbook's status check)", async () => {
    assert.match(await run('status'), /"monitoring":"up"/);
  });

  it('when Prometheus and Alertmanager stop, then the switch texts and mails the admins itself; when they are back, it says so', async () => {
    const before = (await deadmanOutbox()).length;
    const sinceUid = Math.max(0, ...(await mailbox.messages()).map((message) => message.uid));
    const started = Date.now();
    await run('drill-stop');
    const fired = await (async () => {
      for (;;) {
        const found = (await deadmanOutbox())
          .slice(before)
          .find((text) => text.includes('FIRING critical] MonitoringDown'));
        if (found) return found;
        if (Date.now() - started > (deadmanTimeoutSeconds + 90) * 1000)
          assert.fail(
            `no MonitoringDown SMS within ${deadmanTimeoutSeconds + 90} s; outbox: ${JSON.stringify(await deadmanOutbox())}`,
          );
        await sleep(2_000);
      }
    })();
    assert.match(fired, /no Watchdog heartbeat for/);
    assert.ok(
      Date.now() - started >= (deadmanTimeoutSeconds - 70) * 1000,
      "not before the timeout (less the last beat's age, about a minute)",
    );
    const [mail] = await mailbox.waitFor(
      (message) => message.uid > sinceUid && message.subject.includes('FIRING critical] MonitoringDown'),
      60_000,
    );
    assert.ok(mail);
    assert.match(mail.to.join(','), /admins@refereezy\.local/);
    assert.match(mail.text, /docs\/runbooks\/monitoring-down\.md/);
    assert.match(await run('read-outbox'), /MonitoringDown/);

    await run('drill-restore');
    const [back] = await mailbox.waitFor(
      (message) => message.uid > sinceUid && message.subject.includes('RESOLVED critical] MonitoringDown'),
      180_000,
    );
    assert.ok(back);
    assert.ok(
      (await deadmanOutbox()).slice(before).some((text) => text.startsWith('[RESOLVED critical] MonitoringDown')),
    );
  });
});

// The assets bucket as the CDN's origin for /assets/ (docs/runbooks/assets.md): published with the
// runbook's own commands, served through Varnish from the bucket (via the read-only assets-origin),
// and nothing the CDN forwards can write there.
describe('static assets: the bucket is the CDN’s origin for /assets/', () => {
  const env = () => ({ ...composeRequiredVariables(), COMPOSE_PROJECT_NAME: replica.projectName });
  const publish = async (from: string) => {
    const result = await runShellBlock(
      `npm run -s assets -- publish replica --from ${JSON.stringify(from)}`,
      env(),
      120_000,
    );
    assert.equal(result.exitCode, 0, result.output);
    return result.output;
  };
  const probeDirectory = mkdtempSync(path.join(tmpdir(), 'assets-probe-'));
  // A file the web servers do not have: the CDN can only have it from the bucket.
  const probeName = `probe-${randomBytes(4).toString('hex')}.txt`;
  const probeBody = `probe ${randomBytes(16).toString('hex')}\n`;
  writeFileSync(path.join(probeDirectory, probeName), probeBody);
  after(() => rmSync(probeDirectory, { recursive: true, force: true }));

  it("when the runbook's replica commands run, then the web app's files are published, a second run puts nothing, and the origin serves the manifest", async (t) => {
    const started = Date.now();
    const output = await runBlocks(
      runbookBlockList('assets.md', 'replica').map((block) => block.code),
      env(),
    );
    t.diagnostic(`runbook blocks in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const summaries = output.split('\n').filter((line) => line.startsWith('assets: '));
    assert.deepEqual(
      summaries.map((line) => line.replace(/^assets: replica \([^)]*\): /, '')),
      [
        's3://refereezy-assets/assets/: would put 5, unchanged 0',
        's3://refereezy-assets/assets/: put 5, unchanged 0',
        's3://refereezy-assets/assets/: put 0, unchanged 5',
      ],
      output,
    );
    const manifest = JSON.parse(output.slice(output.indexOf('{'))) as Record<string, string>;
    assert.deepEqual(Object.keys(manifest).sort(), ['app.css', 'app.js']);
    // The hashed name through the CDN: the page's stylesheet, cached for a year.
    const hashed = await request(`${replica.cdnUrl}/assets/${manifest['app.css'] ?? ''}`);
    assert.equal(hashed.status, 200);
    assert.equal(hashed.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(hashed.body, /font-family/);
  });

  it('when a file is published, then GET /assets/<file> through the CDN returns its bytes from the bucket, then from the cache; publishing it again changes nothing', async () => {
    assert.match(await publish(probeDirectory), /put 3, unchanged 0/);
    const first = await request(`${replica.cdnUrl}/assets/${probeName}`);
    assert.equal(first.status, 200, first.body);
    assert.equal(first.body, probeBody);
    assert.equal(first.headers.get('x-cache'), 'MISS');
    assert.match(first.headers.get('content-type') ?? '', /^text\/plain/);
    const second = await request(`${replica.cdnUrl}/assets/${probeName}`);
    assert.equal(second.headers.get('x-cache'), 'HIT');
    assert.equal(second.body, probeBody);
    assert.match(await publish(probeDirectory), /put 0, unchanged 3/);
  });

  it('when the CDN is asked to write, delete or list in the bucket, then it is refused and the object is unchanged; the CDN cannot reach the store itself', async () => {
    const url = `${replica.cdnUrl}/assets/${probeName}`;
    const refused = await Promise.all([
      request(url, { method: 'PUT', body: 'overwritten' }),
      request(url, { method: 'DELETE' }),
      request(url, { method: 'POST', body: 'x' }),
    ]);
    assert.deepEqual(
      refused.map((answer) => answer.status),
      [405, 405, 405],
    );
    // From inside the CDN's container, straight at the origin: the same refusals, and no listing.
    const origin = async (args: string[]) =>
      (await replica.exec('cdn', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', ...args])).output;
    assert.equal(await origin(['-X', 'PUT', '--data', 'x', `http://assets-origin:8080/assets/${probeName}`]), '405');
    assert.equal(await origin(['-X', 'DELETE', `http://assets-origin:8080/assets/${probeName}`]), '405');
    assert.equal(await origin(['http://assets-origin:8080/assets/?list-type=2']), '403');
    assert.equal(await origin(['http://assets-origin:8080/refereezy-backups-eu-west-1/']), '403');
    assert.equal(await replica.canConnect('cdn', 's3', 443), false, 'the CDN reaches the store itself');
    // A query string makes it a new cache object: the bytes come from the bucket again.
    const after = await request(`${url}?after-writes=${Date.now()}`);
    assert.equal(after.status, 200);
    assert.equal(after.body, probeBody);
  });
});
