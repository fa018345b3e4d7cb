export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** One HTTP request with a deadline; the body read as text. */
export async function request(url: string, init: RequestInit = {}): Promise<HttpAnswer> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000), ...init });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

export async function postJson(url: string, body: unknown): Promise<HttpAnswer> {
  return request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

export interface LoopResult {
  /** "web1", "web2", or the error/status of a failed request. */
  outcomes: string[];
  failures: string[];
}

/**
 * Sends GET requests one after another until `stop` resolves (bounded by `maxRequests`), and
 * records which web server answered each one.
 */
export async function requestLoop(url: string, stop: Promise<unknown>, maxRequests = 2_000): Promise<LoopResult> {
  const loop = { stopped: false };
  void stop.finally(() => {
    loop.stopped = true;
  });
  const outcomes: string[] = [];
  const failures: string[] = [];
  while (!loop.stopped && outcomes.length < maxRequests) {
    try {
      const answer = await request(url);
      const outcome = answer.status === 200 ? (answer.headers.get('x-served-by') ?? 'unknown') : `HTTP ${answer.status}`;
      outcomes.push(outcome);
      if (answer.status !== 200) failures.push(outcome);
    } catch (error) {
      const outcome = `error: ${(error as Error).message}`;
      outcomes.push(outcome);
      failures.push(outcome);
    }
  }
  return { outcomes, failures };
}
