// The mail service's image (compose/mail): Postfix, the platform's relay. In the replica's catch-all
// mode every message, to any address, is delivered to one local mailbox and read back over IMAP
// (Dovecot), as the monitoring tests will read alerts; in relay mode (production) the same main.cf
// template names the relayhost. No mail is ever sent in relay mode: it must never leave the machine.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { Mailbox } from '../support/mailbox.js';
import { useRyukOnlyWhereAvailable } from '../support/ryuk.js';
import { buildServiceImage } from '../support/service-image.js';

const run = promisify(execFile);
const password = randomBytes(18).toString('base64url');
const started: StartedTestContainer[] = [];
let image: string;
let catchAll: StartedTestContainer;
let mailbox: Mailbox | undefined;

function start(environment: Record<string, string>, { offline = false } = {}): Promise<StartedTestContainer> {
  const container = new GenericContainer(image)
    .withEnvironment(environment)
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(60_000);
  // Docker refuses published ports on a container without a network.
  return (offline ? container.withNetworkMode('none') : container.withExposedPorts(25, 143)).start().then((c) => {
    started.push(c);
    return c;
  });
}

async function exec(container: StartedTestContainer, command: string[]): Promise<string> {
  const { exitCode, output } = await container.exec(command);
  assert.equal(exitCode, 0, `${command.join(' ')}: ${output}`);
  return output.trim();
}

/** The container's log (Postfix's and Dovecot's), read now. */
async function logs(container: StartedTestContainer): Promise<string> {
  const { stdout, stderr } = await run('docker', ['logs', container.getId()], { maxBuffer: 16 * 1024 * 1024 });
  return stdout + stderr;
}

async function containerState(container: StartedTestContainer): Promise<{ status: string; exitCode: number }> {
  const { stdout } = await run('docker', [
    'inspect',
    '--format',
    '{{.State.Status}} {{.State.ExitCode}}',
    container.getId(),
  ]);
  const [status = '', exitCode = ''] = stdout.trim().split(' ');
  return { status, exitCode: Number(exitCode) };
}

function smtp(container: StartedTestContainer) {
  // No STARTTLS: the replica's relay offers none (its clients are on the private network).
  return nodemailer.createTransport({
    host: container.getHost(),
    port: container.getMappedPort(25),
    secure: false,
    ignoreTLS: true,
    name: 'api.refereezy.test',
  });
}

before(async () => {
  await useRyukOnlyWhereAvailable();
  image = await buildServiceImage('mail');
  // MAIL_ALLOWED_NETWORKS unset: the container's own subnet, which holds the Docker host's address.
  catchAll = await start({ MAIL_CATCHALL_PASSWORD: password });
});

after(async () => {
  try {
    await mailbox?.close();
    for (const container of started) {
      const { status } = await containerState(container);
      if (status !== 'running')
        console.error(
          `── mail ${container.getId().slice(0, 12)} (${status}) ──\n${(await logs(container)).slice(-4000)}`,
        );
    }
  } finally {
    await Promise.all(started.map((container) => container.stop({ timeout: 10_000 })));
  }
});

describe('catch-all mode (the replica)', () => {
  const tag = randomBytes(4).toString('hex');

  it('when the platform mails two outside addresses, then both mails land in the catch-all mailbox, read over IMAP intact', async () => {
    const transport = smtp(catchAll);
    try {
      await transport.sendMail({
        from: 'Refereezy alerts <alerts@refereezy.example>',
        to: 'oncall@refereezy.example',
        subject: `[FIRING] ApiDown ${tag}`,
        text: `The API has been down for 2 minutes.\nRunbook: https://refereezy.example/runbooks/api-down\n`,
        html: `<p>The API has been down for <b>2 minutes</b>.</p>`,
      });
      await transport.sendMail({
        from: 'reports@refereezy.example',
        to: ['someone@gmail.example', 'Referee <ref@refereezy.example>'],
        subject: `Rapport du jour – ⚽ ${tag}`,
        text: 'Matches: 3, goals: 7 — déjà vu.',
      });
    } finally {
      transport.close();
    }

    mailbox = await Mailbox.connect(catchAll.getHost(), catchAll.getMappedPort(143), 'catchall', password);
    const received = await mailbox.waitFor((message) => message.subject.endsWith(tag), 30_000, 3);
    const byRecipient = new Map(received.map((message) => [message.originalRecipient, message]));
    assert.deepEqual([...byRecipient.keys()].sort(), [
      'oncall@refereezy.example',
      'ref@refereezy.example',
      'someone@gmail.example',
    ]);

    const alert = byRecipient.get('oncall@refereezy.example');
    assert.equal(alert?.subject, `[FIRING] ApiDown ${tag}`);
    assert.deepEqual(alert.from, ['alerts@refereezy.example']);
    assert.deepEqual(alert.to, ['oncall@refereezy.example']);
    assert.equal(
      alert.text.trim(),
      'The API has been down for 2 minutes.\nRunbook: https://refereezy.example/runbooks/api-down',
    );
    assert.equal(alert.html, '<p>The API has been down for <b>2 minutes</b>.</p>');

    const report = byRecipient.get('someone@gmail.example');
    assert.equal(report?.subject, `Rapport du jour – ⚽ ${tag}`);
    assert.deepEqual(report.from, ['reports@refereezy.example']);
    assert.deepEqual(report.to, ['someone@gmail.example', 'ref@refereezy.example']);
    assert.equal(report.text.trim(), 'Matches: 3, goals: 7 — déjà vu.');
    assert.equal(report.html, '');
  });

  it('when the mail has been delivered, then the queue is empty, there is no relayhost, and the log shows local delivery only', async () => {
    assert.equal(await exec(catchAll, ['postqueue', '-p']), 'Mail queue is empty');
    assert.equal(await exec(catchAll, ['postconf', '-h', 'relayhost']), '');
    let log = '';
    for (let attempt = 0; attempt < 20 && !log.includes('orig_to=<ref@refereezy.example>'); attempt += 1) {
      log = await logs(catchAll);
      await sleep(250);
    }
    const deliveries = log.split('\n').filter((line) => / to=<.*status=/.test(line));
    for (const recipient of ['oncall@refereezy.example', 'someone@gmail.example', 'ref@refereezy.example']) {
      assert.ok(
        deliveries.some(
          (line) =>
            line.includes(`to=<catchall@localhost>, orig_to=<${recipient}>, relay=local,`) &&
            line.includes('status=sent (delivered to maildir)'),
        ),
        `no local delivery logged for ${recipient}:\n${deliveries.join('\n')}`,
      );
    }
    assert.deepEqual(
      deliveries.filter((line) => !line.includes('relay=local,')),
      [],
      'a delivery went elsewhere than the local mailbox',
    );
  });

  it('when the IMAP login has a wrong password, then it is refused', async () => {
    await assert.rejects(
      Mailbox.connect(catchAll.getHost(), catchAll.getMappedPort(143), 'catchall', `${password}-wrong`),
      (error: Error & { authenticationFailed?: boolean }) => {
        assert.equal(error.authenticationFailed, true, error.message);
        return true;
      },
    );
  });
});

describe('no open relay', () => {
  it('when a client outside MAIL_ALLOWED_NETWORKS sends, then Postfix refuses the recipient and queues nothing', async () => {
    // Only loopback is allowed: the test, connecting through Docker's published port, is outside.
    const restricted = await start({ MAIL_CATCHALL_PASSWORD: password, MAIL_ALLOWED_NETWORKS: '127.0.0.0/8' });
    const transport = smtp(restricted);
    try {
      await assert.rejects(
        transport.sendMail({
          from: 'spam@spammer.example',
          to: 'victim@gmail.example',
          subject: 'relay me',
          text: 'no',
        }),
        (error: Error & { responseCode?: number }) => {
          assert.equal(error.responseCode, 554, error.message);
          assert.match(error.message, /Access denied/);
          return true;
        },
      );
    } finally {
      transport.close();
    }
    assert.equal(await exec(restricted, ['postqueue', '-p']), 'Mail queue is empty');
  });
});

describe('relay mode (production), rendered only', () => {
  it('when MAIL_MODE=relay, then main.cf names the relayhost with SASL over TLS, and the catch-all is not in effect', async () => {
    // No network at all: whatever happened, nothing could leave.
    const relay = await start(
      {
        MAIL_MODE: 'relay',
        MAIL_RELAYHOST: '[relay.invalid]:587',
        MAIL_RELAY_USER: 'AKIAEXAMPLE',
        MAIL_RELAY_PASSWORD: 'relay-secret',
      },
      { offline: true },
    );
    const postconf = async (name: string) => exec(relay, ['postconf', '-h', name]);
    assert.equal(await postconf('relayhost'), '[relay.invalid]:587');
    assert.equal(await postconf('virtual_alias_maps'), '');
    assert.equal(await postconf('default_transport'), 'smtp');
    assert.equal(await postconf('smtp_sasl_auth_enable'), 'yes');
    assert.equal(await postconf('smtp_tls_security_level'), 'encrypt');
    assert.equal(
      await exec(relay, ['postmap', '-q', '[relay.invalid]:587', 'hash:/etc/postfix/sasl_passwd']),
      'AKIAEXAMPLE:relay-secret',
    );
    // No Dovecot in production: nothing listens on 143.
    const imap = await relay.exec(['bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/143']);
    assert.notEqual(imap.exitCode, 0);
  });
});

describe('supervised', () => {
  it('when Dovecot dies, then the container stops with an error', async () => {
    const doomed = await start({ MAIL_CATCHALL_PASSWORD: password });
    started.splice(started.indexOf(doomed), 1); // its exit is expected: no log dump
    try {
      await exec(doomed, ['bash', '-c', 'kill -KILL "$(cat /run/dovecot/master.pid)"']);
      let state = await containerState(doomed);
      for (let attempt = 0; attempt < 50 && state.status === 'running'; attempt += 1) {
        await sleep(200);
        state = await containerState(doomed);
      }
      assert.deepEqual(state, { status: 'exited', exitCode: 1 });
    } finally {
      await doomed.stop({ timeout: 10_000 });
    }
  });
});
