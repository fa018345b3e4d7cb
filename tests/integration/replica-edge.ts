// The public edge on the replica (cdn-tls: HAProxy in front of Varnish): HTTPS with HTTP/2 and HSTS,
// plain HTTP that only redirects, and the per-client limits (docs/runbooks/edge.md). Run by
// replica.test.ts on its replica. The flood comes from another address than the test's own (the
// cdn container), so the limit it trips never touches the other suites' requests.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { request } from '../support/http.js';
import { trustedCertificates } from '../support/local-ca.js';
import { composeRequiredVariables, runBlocks, runbookBlocks } from '../support/runbook-commands.js';
import type { StartedReplica } from '../support/started-replica.js';
import { sendRaw } from '../support/waf-corpus.js';

/** The edge's defaults (compose/cdn-tls/Dockerfile, docker-compose.yml), which the shared replica keeps. */
const limits = { requestsPer10s: 1000, connectionsPerClient: 100, headerTimeoutMs: 10_000, retryAfter: '10' };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** Timed GETs of the web app from this process (one client address) until `stop` resolves. */
async function timedRequests(url: string, stop: Promise<unknown>): Promise<{ statuses: number[]; ms: number[] }> {
  const state = { stopped: false };
  void stop.finally(() => (state.stopped = true));
  const statuses: number[] = [];
  const ms: number[] = [];
  while (!state.stopped && statuses.length < 500) {
    const started = performance.now();
    statuses.push((await request(`${url}/?client=second&n=${statuses.length}`)).status);
    ms.push(performance.now() - started);
    await sleep(50);
  }
  return { statuses, ms };
}

/** One TLS connection to the edge that sends the start of a request and then a header line every 2 s. */
function slowClient(port: number): Promise<{ closedAfterMs: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let answer = '';
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: trustedCertificates() }, () => {
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n');
    });
    const drip = setInterval(() => socket.write(`X-Slow-${Date.now()}: 1\r\n`), 2000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => {
      clearInterval(drip);
      resolve({ closedAfterMs: performance.now() - started, answer });
    });
    socket.on('error', (error: Error) => {
      clearInterval(drip);
      if (answer === '') reject(error);
    });
    // Bounded: a slow client still open after 30 s is the failure the test reports.
    setTimeout(() => socket.destroy(), 30_000).unref();
  });
}

export function describeEdge(replica: () => StartedReplica): void {
  describe('the public edge (cdn-tls: TLS, HSTS, per-client limits; docs/runbooks/edge.md)', () => {
    const tlsPort = () => replica().container('cdn-tls').getMappedPort(443);

    it('when the web app is fetched, then it comes over HTTP/2 with a certificate of the local CA and HSTS', async () => {
      const session = http2.connect(replica().cdnUrl, { ca: trustedCertificates() });
      try {
        const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
          const stream = session.request({ ':path': '/' });
          stream.on('response', (received) => {
            stream.resume();
            stream.on('end', () => resolve(received));
          });
          stream.on('error', reject);
        });
        assert.equal(session.alpnProtocol, 'h2');
        assert.equal(headers[':status'], 200);
        assert.match(String(headers['strict-transport-security']), /^max-age=\d{8,}/);
      } finally {
        session.close();
      }
    });

    it('when a client insists on a CBC cipher over TLS 1.2, then the handshake fails (AEAD only)', async () => {
      const outcome = await new Promise<string>((resolve) => {
        const socket = tls.connect({
          host: '127.0.0.1',
          port: tlsPort(),
          servername: 'localhost',
          ca: trustedCertificates(),
          maxVersion: 'TLSv1.2',
          ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA256',
        });
        socket.on('secureConnect', () => {
          resolve(`connected with ${socket.getCipher().name}`);
          socket.destroy();
        });
        socket.on('error', (error: Error) => resolve(error.message));
      });
      assert.match(outcome, /handshake failure|alert/i);
    });

    it('when plain HTTP is used, then every request only gets a redirect to the same URL over HTTPS', async () => {
      for (const method of ['GET', 'POST']) {
        const answer = await request(`${replica().cdnPlainUrl}/api/competitions?page=2`, {
          method,
          redirect: 'manual',
        });
        assert.equal(answer.status, 301, method);
        assert.match(answer.headers.get('location') ?? '', /^https:\/\/127\.0\.0\.1:\d+\/api\/competitions\?page=2$/);
        assert.doesNotMatch(answer.body, /competition/i, 'nothing of the app is served over plain HTTP');
      }
    });

    it('when one client floods the edge, then it gets 429 with Retry-After while a second client is served at its usual speed', async () => {
      const baseline = await timedRequests(replica().cdnUrl, sleep(2000));
      // 1.5× the limit from the cdn container's address, 50 at a time, over HTTP/2 (the same cached page).
      const flood = replica().exec('cdn', [
        'sh',
        '-c',
        `curl -k -s --parallel --parallel-max 50 -o /dev/null -w '%{http_code} %header{retry-after}\\n' 'https://cdn-tls/?flood=[1-${limits.requestsPer10s * 1.5}]' -G --data-urlencode x=1 | sort | uniq -c`,
      ]);
      const during = await timedRequests(replica().cdnUrl, flood);
      const { exitCode, output } = await flood;
      assert.equal(exitCode, 0, output);
      const counts = Object.fromEntries(
        output
          .trim()
          .split('\n')
          .map((line) => line.trim().split(/\s+/))
          .map(([count, status, retryAfter]) => [
            `${status ?? ''}${retryAfter ? ` retry-after ${retryAfter}` : ''}`,
            Number(count),
          ]),
      );
      console.log(
        `flood: ${JSON.stringify(counts)}; second client: ${during.statuses.length} requests, median ${median(during.ms).toFixed(0)} ms during the flood (${median(baseline.ms).toFixed(0)} ms before)`,
      );
      assert.ok((counts[`429 retry-after ${limits.retryAfter}`] ?? 0) > 0, `no 429 with Retry-After: ${output}`);
      assert.ok((counts['200'] ?? 0) <= limits.requestsPer10s + 100, `more than the limit served: ${output}`);
      assert.deepEqual(
        during.statuses.filter((status) => status !== 200),
        [],
        'the second client was refused',
      );
      assert.ok(during.statuses.length > 0);
      assert.ok(
        median(during.ms) < Math.max(250, 5 * median(baseline.ms)),
        `second client slowed: ${median(during.ms)} ms`,
      );
    });

    it('when slow clients trickle their headers, then the edge cuts each with 408 after the header timeout, and others are served meanwhile', async () => {
      const slow = Array.from({ length: 20 }, () => slowClient(tlsPort()));
      const others = await timedRequests(replica().cdnUrl, Promise.allSettled(slow));
      const outcomes = await Promise.all(slow);
      for (const { closedAfterMs, answer } of outcomes) {
        assert.match(answer, /^HTTP\/1\.1 408/, answer.slice(0, 80));
        assert.ok(closedAfterMs < limits.headerTimeoutMs + 3000, `a slow client kept for ${closedAfterMs} ms`);
      }
      assert.deepEqual(
        others.statuses.filter((status) => status !== 200),
        [],
      );
    });

    it('when a client opens more connections than the limit, then the extra ones are refused', async () => {
      const sockets = await Promise.all(
        Array.from(
          { length: limits.connectionsPerClient + 20 },
          () =>
            new Promise<tls.TLSSocket | Error>((resolve) => {
              const socket = tls.connect(
                { host: '127.0.0.1', port: tlsPort(), servername: 'localhost', ca: trustedCertificates() },
                () => resolve(socket),
              );
              socket.on('error', (error: Error) => resolve(error));
            }),
        ),
      );
      const refused = sockets.filter((socket) => socket instanceof Error).length;
      for (const socket of sockets) if (!(socket instanceof Error)) socket.destroy();
      // This process holds a few keep-alive connections of its own: at least the 20 above the limit fail.
      assert.ok(refused >= 20 && refused <= 30, `${refused} of ${sockets.length} refused`);
    });

    it('when a request body or its headers are too large, then the edge answers 413 or 400 before anything behind it runs', async () => {
      const big = await sendRaw(replica().cdnUrl, {
        category: 'legitimate',
        label: 'body',
        method: 'POST',
        path: '/api/competitions',
        headers: { 'content-type': 'application/json' },
        body: 'x'.repeat(1_048_577),
      });
      assert.equal(big.status, 413);
      const headers = await sendRaw(replica().cdnUrl, {
        category: 'legitimate',
        label: 'headers',
        method: 'GET',
        path: '/',
        headers: { 'x-padding': 'x'.repeat(20_000) },
      });
      assert.equal(headers.status, 400);
    });

    it("when the runbook's replica blocks run, then they show the table of clients and lift one address's limit", async () => {
      const blocks = runbookBlocks('edge.md', 'replica');
      const block = (name: string) => blocks.get(name) ?? assert.fail(`edge.md has no replica block ${name}`);
      const env = { ...composeRequiredVariables(), COMPOSE_PROJECT_NAME: replica().projectName };
      const cdnAddress = (await replica().addressesOf('cdn')).public ?? '';
      assert.match(await runBlocks([block('check')], { ...env, API: replica().cdnUrl }), /^200 HTTP\/2/m);
      assert.match(await runBlocks([block('clients')], env), /# table: https, type: ipv6/);
      await runBlocks([block('lift')], { ...env, CLIENT: cdnAddress });
      assert.doesNotMatch(
        await runBlocks([block('clients')], env),
        new RegExp(`key=::ffff:${cdnAddress.replaceAll('.', '\\.')} `),
      );
    });
  });
}
