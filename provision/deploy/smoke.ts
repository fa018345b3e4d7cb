import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** One HTTP answer as a probe saw it. */
export interface ProbeAnswer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Sends a request to the idle colour directly, never through the live path: `target` 'web' is the
 * colour's web server (its /api/ reaches the colour's own API), 'api' the colour's API itself.
 */
export type Prober = (
  target: 'web' | 'api',
  method: 'GET' | 'POST',
  path: string,
  options?: { token?: string; body?: unknown },
) => Promise<ProbeAnswer>;

export interface SmokeCheck {
  name: string;
  ok: boolean;
  detail: string;
}

interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: { 'application/json'?: { schema: object } } }> }>
  >;
}

/** Whether an answer is as the OpenAPI document says: a documented status and a body valid against its schema. */
export function conforms(document: OpenApiDocument, method: string, path: string, answer: ProbeAnswer): string | null {
  const operation = document.paths[path]?.[method.toLowerCase()];
  if (!operation) return `${method} ${path} is not in the OpenAPI document`;
  const documented = operation.responses[String(answer.status)];
  if (!documented)
    return `${method} ${path} answered ${answer.status}, which the document does not list (body: ${answer.body.slice(0, 200)})`;
  const schema = documented.content?.['application/json']?.schema;
  if (!schema) return null;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    return `${method} ${path} ${answer.status}: the body is not JSON: ${answer.body.slice(0, 200)}`;
  }
  return ajv.validate(schema, body) ? null : `${method} ${path} ${answer.status}: ${ajv.errorsText(ajv.errors)}`;
}

const check = (name: string, ok: boolean, detail: string): SmokeCheck => ({ name, ok, detail });

async function attempt(name: string, probe: () => Promise<SmokeCheck>): Promise<SmokeCheck> {
  try {
    return await probe();
  } catch (error) {
    return check(name, false, (error as Error).message);
  }
}

/**
 * The smoke tests a colour must pass before it gets traffic: the API's health (answering the
 * version being deployed) and readiness (it reaches Postgres), the OpenAPI contract on a read and a
 * write route, the web app's index and an asset. Every check runs, so a failure says everything.
 */
export async function smokeTest(probe: Prober, version: string, token: string): Promise<SmokeCheck[]> {
  const checks: SmokeCheck[] = [];
  checks.push(
    await attempt('API health', async () => {
      const answer = await probe('api', 'GET', '/healthz');
      const body = answer.status === 200 ? (JSON.parse(answer.body) as { version?: string }) : {};
      return check(
        'API health',
        answer.status === 200 && body.version === version,
        `HTTP ${answer.status}, version ${body.version ?? '?'} (expected ${version})`,
      );
    }),
  );
  checks.push(
    await attempt('API readiness', async () => {
      const answer = await probe('api', 'GET', '/readyz');
      return check('API readiness', answer.status === 200, `HTTP ${answer.status} ${answer.body.slice(0, 200)}`);
    }),
  );
  let document: OpenApiDocument | null = null;
  checks.push(
    await attempt('OpenAPI document', async () => {
      const answer = await probe('web', 'GET', '/api/openapi.json');
      if (answer.status === 200) document = JSON.parse(answer.body) as OpenApiDocument;
      return check('OpenAPI document', document !== null, `HTTP ${answer.status}`);
    }),
  );
  const contract = async (
    name: string,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    expected = method === 'POST' ? 201 : 200,
  ) =>
    attempt(name, async () => {
      if (!document) return check(name, false, 'no OpenAPI document to check against');
      const answer = await probe('web', method, path, { token, ...(body === undefined ? {} : { body }) });
      const problem =
        answer.status === expected
          ? conforms(document, method, path, answer)
          : `HTTP ${answer.status}, expected ${expected}: ${answer.body.slice(0, 200)}`;
      return check(name, problem === null, problem ?? `HTTP ${answer.status}, as documented`);
    });
  checks.push(await contract('contract: read (GET /api/competitions)', 'GET', '/api/competitions'));
  checks.push(
    await contract('contract: write (POST /api/competitions)', 'POST', '/api/competitions', {
      // One per smoke run: deploying a version again must not meet its own earlier record (409).
      name: `Deploy smoke ${version} ${new Date().toISOString()}`.slice(0, 120),
      season: '2026',
    }),
  );
  checks.push(
    await attempt('web app index', async () => {
      const answer = await probe('web', 'GET', '/');
      return check(
        'web app index',
        answer.status === 200 && /<title>Refereezy<\/title>/.test(answer.body),
        `HTTP ${answer.status} ${answer.contentType}`,
      );
    }),
  );
  checks.push(
    await attempt('web app asset', async () => {
      const answer = await probe('web', 'GET', '/assets/app.css');
      return check(
        'web app asset',
        answer.status === 200 && answer.contentType.startsWith('text/css') && answer.body.length > 0,
        `HTTP ${answer.status} ${answer.contentType}`,
      );
    }),
  );
  return checks;
}

export function smokeFailures(checks: SmokeCheck[]): string {
  return checks
    .filter((c) => !c.ok)
    .map((c) => `${c.name}: ${c.detail}`)
    .join('; ');
}
