// The web image keeps its connections to the API alive (an nginx upstream with keepalive), so nginx
// resolves the API's name only when it starts or reloads: its entrypoint reloads it when the name
// points elsewhere (a recreated API container gets a new address), and leaves it alone otherwise.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { useRyukOnlyWhereAvailable } from '../support/ryuk.js';
import { buildServiceImage } from '../support/service-image.js';

let web: StartedTestContainer | undefined;

/** The pids of nginx's workers: new ones after a reload. */
async function workers(): Promise<string> {
  const script =
    'for p in /proc/[0-9]*; do case "$({ tr "\\0" " " <$p/cmdline; } 2>/dev/null)" in "nginx: worker"*) echo "${p#/proc/}";; esac; done | sort';
  const { exitCode, output } = await (web as StartedTestContainer).exec(['sh', '-c', script]);
  assert.equal(exitCode, 0, output);
  return output.trim();
}

async function pointApiAt(address: string): Promise<void> {
  // Docker's /etc/hosts is a bind mount: rewritten in place, as Docker's DNS would answer anew.
  const { exitCode, output } = await (web as StartedTestContainer).exec([
    'sh',
    '-c',
    `sed -E "s/^[0-9.]+(\\s+apihost)/${address}\\1/" /etc/hosts >/tmp/hosts && cat /tmp/hosts >/etc/hosts`,
  ]);
  assert.equal(exitCode, 0, output);
}

before(async () => {
  await useRyukOnlyWhereAvailable();
  web = await new GenericContainer(await buildServiceImage('web'))
    .withExtraHosts([{ host: 'apihost', ipAddress: '10.1.2.3' }])
    .withEnvironment({ API_HOST: 'apihost', API_PORT: '3000' })
    .withExposedPorts(80)
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(120_000)
    .start();
});

after(async () => {
  await web?.stop();
});

describe('web image: the API upstream', () => {
  it('when the API name keeps its address, then nginx is left alone; when it moves, then nginx reloads', async () => {
    const first = await workers();
    assert.notEqual(first, '');
    await sleep(5_000);
    assert.equal(await workers(), first, 'no reload while the address stays');
    await pointApiAt('10.1.2.4');
    let now = first;
    for (let attempt = 0; attempt < 30 && (now === first || now === ''); attempt += 1) {
      await sleep(1_000);
      now = await workers();
    }
    assert.notEqual(now, first, 'nginx reloaded (new workers) within 30 s of the move');
    const site = await web?.exec(['nginx', '-T']);
    assert.match(site?.output ?? '', /upstream api \{\s+server apihost:3000;\s+keepalive \d+;/);
  });
});
