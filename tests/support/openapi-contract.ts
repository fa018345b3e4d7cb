import assert from 'node:assert/strict';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { HttpAnswer } from './http.js';

interface JsonContent {
  content?: { 'application/json': { schema: object } };
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: JsonContent; responses: Record<string, JsonContent> }>>;
}

/**
 * The API's served OpenAPI document, used as an independent oracle: every answer a test sees must
 * have its status documented and its body valid against the documented schema (JSON Schema 2020-12,
 * checked by Ajv, not by the zod schemas the document was made from).
 */
export class OpenApiContract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(readonly document: Document) {
    addFormats.default(this.ajv);
  }

  static async load(apiUrl: string): Promise<OpenApiContract> {
    const response = await fetch(`${apiUrl}/api/openapi.json`);
    assert.equal(response.status, 200);
    return new OpenApiContract((await response.json()) as Document);
  }

  /** Whether the documented request body schema of `method path` accepts `body`. */
  requestBodyAccepts(method: string, path: string, body: unknown): boolean {
    const schema = this.document.paths[path]?.[method.toLowerCase()]?.requestBody?.content?.['application/json'].schema;
    assert.ok(schema, `${method} ${path} documents no JSON request body`);
    return this.ajv.validate(schema, body);
  }

  /** Asserts that `answer`, to `method` on the OpenAPI path template `path`, is as documented. */
  assertConforms(method: string, path: string, answer: HttpAnswer): void {
    const operation = this.document.paths[path]?.[method.toLowerCase()];
    assert.ok(operation, `${method} ${path} is not in the OpenAPI document`);
    const documented = operation.responses[String(answer.status)];
    assert.ok(
      documented,
      `${method} ${path} answered ${answer.status}, which is not documented (body: ${answer.body.slice(0, 200)})`,
    );
    const schema = documented.content?.['application/json'].schema;
    if (!schema) return;
    const key = `${method} ${path} ${answer.status}`;
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.validators.set(key, validate);
    }
    const body: unknown = JSON.parse(answer.body);
    assert.ok(
      validate(body),
      `${key}: body does not match the document: ${this.ajv.errorsText(validate.errors)}\n${answer.body.slice(0, 300)}`,
    );
  }
}
