// The WAF's regression corpus (OWASP CRS's own habit: every request expects "blocked" or "untouched",
// both counted): attacks assembled in tests/fixtures/waf, sent as a client would, byte for byte.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { trustedCertificates } from './local-ca.js';
import { repoRoot } from './paths.js';

export type AttackCategory = 'sqli' | 'xss' | 'traversal' | 'rce' | 'ssti' | 'scanner';

export interface ProbeRequest {
  category: AttackCategory | 'legitimate';
  /** What the request is, for reports: "sqli in query: ' OR 1=1--". */
  label: string;
  method: string;
  /** Sent as it is (no normalisation of ../ or of percent-encoding). */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface ProbeAnswer {
  status: number;
  /**
   * Refused before the app saw it: by the WAF (403 with the web tier's `waf_blocked` JSON), or by
   * nginx itself before any location ran (its own 400 page: a path that climbs above the root).
   */
  blocked: boolean;
  refusedBy: 'waf' | 'nginx' | undefined;
  requestId: string | undefined;
  body: string;
}

const fixtures = join(repoRoot, 'tests/fixtures/waf');

function lines(file: string): string[] {
  return readFileSync(join(fixtures, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#!'));
}

/** Percent-encodes only what an HTTP request line cannot carry (space, controls, non-ASCII): the rest goes as the attacker wrote it. */
function rawPath(text: string): string {
  return text.replace(/[^\x21-\x7e]/g, (char) => encodeURIComponent(char));
}

/**
 * Every attack of the corpus as requests: each injection payload (SQL, XSS, command, template) in a
 * query parameter of an API route and in a field of a JSON body; each traversal in the path and
 * in a parameter; each scanner by its User-Agent. `token` is a real user's ID token (attacks come
 * from signed-in users too).
 */
export function attackCorpus(token: string): ProbeRequest[] {
  const auth = { authorization: `Bearer ${token}` };
  const requests: ProbeRequest[] = [];
  const injections: [AttackCategory, string][] = [
    ['sqli', 'payloads-sqli.txt'],
    ['xss', 'payloads-xss.txt'],
    ['rce', 'payloads-rce.txt'],
    ['ssti', 'payloads-ssti.txt'],
  ];
  // A payload its author already percent-encoded goes into the URL as written (not encoded twice).
  const inQuery = (payload: string) =>
    /%[0-9A-Fa-f]{2}/.test(payload) ? rawPath(payload) : encodeURIComponent(payload);
  for (const [category, file] of injections) {
    for (const payload of lines(file)) {
      requests.push({
        category,
        label: `${category} in query: ${payload}`,
        method: 'GET',
        path: `/api/referees?name=${inQuery(payload)}&limit=10`,
        headers: auth,
      });
      requests.push({
        category,
        label: `${category} in JSON body: ${payload}`,
        method: 'POST',
        path: '/api/referees',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: payload, email: 'probe@refereezy.test', licenceLevel: 'regional' }),
      });
    }
  }
  for (const payload of lines('payloads-traversal.txt')) {
    requests.push({
      category: 'traversal',
      label: `traversal in query: ${payload}`,
      method: 'GET',
      path: `/?file=${inQuery(payload)}`,
      headers: {},
    });
    requests.push({
      category: 'traversal',
      label: `traversal in JSON body: ${payload}`,
      method: 'POST',
      path: '/api/competitions',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: payload, season: '2026' }),
    });
    // Relative ones also in the path itself, climbing out of the web root.
    if (payload.includes('..'))
      requests.push({
        category: 'traversal',
        label: `traversal in path: ${payload}`,
        method: 'GET',
        // Under a path the web servers answer (the single page's routes): /assets/ goes to the
        // assets bucket's origin at the CDN, which refuses any name that is not a published key.
        path: `/app/${rawPath(payload)}`,
        headers: {},
      });
  }
  for (const [index, agent] of lines('scanner-user-agents.txt').entries()) {
    requests.push({
      category: 'scanner',
      label: `scanner: ${agent}`,
      method: 'GET',
      // A page the CDN has not cached: a cached one is served without asking the web servers,
      // whoever the client says it is (and gives away nothing the public page does not).
      path: `/?scan=${index}`,
      headers: { 'user-agent': agent },
    });
  }
  return requests;
}

/** One request exactly as given (node's http, which normalises nothing), with a deadline. */
export function sendRaw(baseUrl: string, probe: ProbeRequest, { insecure = false } = {}): Promise<ProbeAnswer> {
  const url = new URL(baseUrl);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      {
        host: url.hostname,
        port: url.port,
        method: probe.method,
        path: probe.path,
        headers: {
          'user-agent': 'refereezy-waf-probe/1',
          ...probe.headers,
          ...(probe.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(probe.body)) }),
        },
        timeout: 10_000,
        ...(url.protocol !== 'https:' ? {} : insecure ? { rejectUnauthorized: false } : { ca: trustedCertificates() }),
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          const header = response.headers['x-request-id'];
          const refusedBy =
            status === 403 && body.includes('"code":"waf_blocked"')
              ? 'waf'
              : status === 400 && body.includes('<center>nginx</center>')
                ? 'nginx'
                : undefined;
          resolve({
            status,
            blocked: refusedBy !== undefined,
            refusedBy,
            requestId: Array.isArray(header) ? header[0] : header,
            body,
          });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${probe.method} ${probe.path}: no answer within 10 s`)));
    request.on('error', reject);
    if (probe.body !== undefined) request.write(probe.body);
    request.end();
  });
}

export interface CorpusResult {
  total: number;
  blocked: number;
  /** Of `blocked`, those nginx refused before the WAF ran (a path above the web root). */
  refusedByNginx: number;
  /** blocked / total. */
  rate: number;
  byCategory: Record<string, { total: number; blocked: number }>;
  /** The attacks that got through, with their status. */
  missed: string[];
}

/** Sends every request (a few at a time) and counts what the WAF blocked. */
export async function probeCorpus(
  baseUrl: string,
  requests: ProbeRequest[],
  options: { insecure?: boolean; concurrency?: number } = {},
): Promise<CorpusResult> {
  const answers: { probe: ProbeRequest; answer: ProbeAnswer | Error }[] = [];
  const queue = [...requests];
  const worker = async () => {
    for (let probe = queue.shift(); probe; probe = queue.shift()) {
      answers.push({
        probe,
        answer: await sendRaw(baseUrl, probe, options).catch((error: unknown) =>
          error instanceof Error ? error : new Error(String(error)),
        ),
      });
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  const byCategory: CorpusResult['byCategory'] = {};
  const missed: string[] = [];
  let blocked = 0;
  let refusedByNginx = 0;
  for (const { probe, answer } of answers) {
    const tally = (byCategory[probe.category] ??= { total: 0, blocked: 0 });
    tally.total += 1;
    if (!(answer instanceof Error) && answer.blocked) {
      tally.blocked += 1;
      blocked += 1;
      if (answer.refusedBy === 'nginx') refusedByNginx += 1;
    } else {
      missed.push(`${probe.label} → ${answer instanceof Error ? answer.message : `HTTP ${answer.status}`}`);
    }
  }
  return {
    total: answers.length,
    blocked,
    refusedByNginx,
    rate: answers.length === 0 ? 0 : blocked / answers.length,
    byCategory,
    missed,
  };
}
