// The replica's bastion image alone, on a network of its own with a stand-in for the hosts behind it
// (one container answering as prometheus:9090, web1:80 and db:5432): the jump user jumps to the
// monitoring UIs and to nothing else, gets no shell and no sftp, and sshd passes ssh-audit's
// hardened policy. Cheaper than the full replica (tests/integration/replica.test.ts), which checks
// the same image among the real services.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import ssh2, { type Client } from 'ssh2';
import { GenericContainer, Network, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { sshdConfigSource } from '../../provision/roles/common/files.js';
import { renderSshdConfig } from '../../provision/roles/common/sshd.js';
import { useRyukOnlyWhereAvailable } from '../support/ryuk.js';
import { buildServiceImage } from '../support/service-image.js';
import { sshAudit } from '../support/ssh-audit.js';

const key = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'bastion-image-test' });
// Each port answers one line naming itself, then closes.
const standIn = `use IO::Socket::INET;
$| = 1;
for my $port (@ARGV) {
  next if fork;
  my $server = IO::Socket::INET->new(LocalPort => $port, Listen => 5, ReuseAddr => 1) or die "$port: $!";
  while (my $client = $server->accept) { print $client "stand-in $port\\n"; close $client; }
}
print "listening\\n";
wait;`;

let network: StartedNetwork;
let bastion: StartedTestContainer;
let hosts: StartedTestContainer;

function connect(): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client
      .once('ready', () => resolve(client))
      .once('error', reject)
      .connect({
        host: bastion.getHost(),
        port: bastion.getMappedPort(22),
        username: 'ops',
        privateKey: key.private,
        readyTimeout: 15_000,
      });
  });
}

/** The first line a destination sends through the bastion, or "prohibited" when sshd refuses to open it. */
function through(client: Client, host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    client.forwardOut('127.0.0.1', 0, host, port, (error, stream) => {
      if (error) return resolve((error as Error & { reason?: number }).reason === 1 ? 'prohibited' : error.message);
      let text = '';
      // Nothing to send: our end closes at once, so the channel closes when the destination has answered.
      stream.on('data', (chunk: Buffer) => (text += chunk.toString())).on('end', () => resolve(text.trim()));
      stream.end();
    });
  });
}

before(async () => {
  await useRyukOnlyWhereAvailable();
  const image = await buildServiceImage('bastion');
  network = await new Network().start();
  // One at a time, each assigned as soon as it runs: after() stops whatever started.
  bastion = await new GenericContainer(image)
    .withNetwork(network)
    .withNetworkAliases('bastion')
    .withEnvironment({ BASTION_AUTHORIZED_KEYS: key.public })
    .withExposedPorts(22)
    .withWaitStrategy(Wait.forHealthCheck())
    .start();
  hosts = await new GenericContainer('debian:trixie-slim')
    .withNetwork(network)
    .withNetworkAliases('prometheus', 'web1', 'db')
    .withCommand(['perl', '-e', standIn, '9090', '80', '5432'])
    .withWaitStrategy(Wait.forLogMessage('listening'))
    .start();
});

after(async () => {
  await Promise.all(
    [bastion, hosts].map(async (container) => (container as StartedTestContainer | undefined)?.stop({ timeout: 0 })),
  );
  await (network as StartedNetwork | undefined)?.stop();
});

describe('the bastion image', () => {
  it('when the jump user connects, then it reaches the monitoring UIs and nothing else', async () => {
    const client = await connect();
    try {
      assert.equal(await through(client, 'prometheus', 9090), 'stand-in 9090');
      assert.equal(await through(client, 'web1', 80), 'prohibited');
      assert.equal(await through(client, 'db', 5432), 'prohibited');
      assert.equal(await through(client, 'prometheus', 22), 'prohibited');
    } finally {
      client.end();
    }
  });

  it('when the jump user asks for a shell, a command or sftp, then it gets none', async () => {
    const client = await connect();
    try {
      const command = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
        client.exec('id -un', (error, stream) => {
          if (error) return reject(error);
          let output = '';
          stream
            .on('data', (chunk: Buffer) => (output += chunk.toString()))
            .on('close', (code: number | null) => resolve({ code, output }));
          stream.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        });
      });
      assert.notEqual(command.code, 0);
      assert.match(command.output, /not available/);
      const sftp = await new Promise<string>((resolve) => {
        client.sftp((error, channel) => {
          if (error) return resolve(error.message);
          channel.end();
          resolve('opened');
        });
      });
      assert.notEqual(sftp, 'opened');
    } finally {
      client.end();
    }
  });

  it('when the image renders sshd_config, then it is what the common role renders for a bastion with the same destinations, root-only', async () => {
    const kex = (await bastion.exec(['ssh', '-Q', 'kex'])).output.trim().split('\n');
    const destinations = (await bastion.exec(['printenv', 'BASTION_PERMIT_OPEN'])).output.trim().split(' ');
    const expected = renderSshdConfig(
      readFileSync(sshdConfigSource, 'utf8'),
      { tcpForwarding: 'local', permitOpen: destinations },
      kex,
    );
    assert.equal((await bastion.exec(['cat', '/etc/ssh/sshd_config'])).output, expected);
    assert.equal(
      (await bastion.exec(['stat', '-c', '%U:%G %a', '/etc/ssh/sshd_config'])).output.trim(),
      'root:root 600',
    );
    assert.deepEqual(destinations, ['prometheus:9090', 'alertmanager:9093', 'grafana:3000', 'kibana:5601', 'lb:8404']);
  });

  it('when ssh-audit checks it, then the hardened policy passes and nothing is flagged', async () => {
    const policy = await sshAudit(`container:${bastion.getName().replace(/^\//, '')}`, '127.0.0.1', { policy: true });
    assert.equal(policy.code, 0, policy.output);
    assert.match(policy.output, /Result: ✔ Passed/);
    // A second audit from another address: OpenSSH penalises the first one's for its unauthenticated connections.
    const audit = await sshAudit(network.getName(), 'bastion');
    assert.equal(audit.code, 0, audit.output);
    assert.doesNotMatch(audit.output, /\[(fail|warn)\]/);
    assert.match(audit.output, /^\(gen\) banner: SSH-2\.0-OpenSSH_[\d.]+p\d+$/m);
    assert.match(audit.output, /^\(gen\) compression: disabled$/m);
  });
});
