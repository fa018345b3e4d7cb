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

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return sendJson('POST', url, body, headers);
}

export async function sendJson(
  method: string,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  return request(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** The answer's body as JSON of the shape the caller expects. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape
export function json<T>(answer: HttpAnswer): T {
  return JSON.parse(answer.body) as T;
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
export async function requestLoop(
  url: string,
  stop: Promise<unknown>,
  headers: Record<string, string> = {},
  maxRequests = 2_000,
): Promise<LoopResult> {
  const loop = { stopped: false };
  void stop.finally(() => {
    loop.stopped = true;
  });
  const outcomes: string[] = [];
  const failures: string[] = [];
  while (!loop.stopped && outcomes.length < maxRequests) {
    try {
      const answer = await request(url, { headers });
      const outcome =
        answer.status === 200 ? (answer.headers.get('x-served-by') ?? 'unknown') : `HTTP ${answer.status}`;
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
