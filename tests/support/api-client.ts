import { request, sendJson, type HttpAnswer } from './http.js';

/** Calls the API as one caller: their ID token goes in every request. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly idToken?: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.idToken ? { authorization: `Bearer ${this.idToken}` } : {}), ...extra };
  }

  get(path: string, headers?: Record<string, string>): Promise<HttpAnswer> {
    return request(`${this.baseUrl}${path}`, { headers: this.headers(headers) });
  }

  post(path: string, body: unknown, headers?: Record<string, string>): Promise<HttpAnswer> {
    return sendJson('POST', `${this.baseUrl}${path}`, body, this.headers(headers));
  }

  put(path: string, body: unknown, headers?: Record<string, string>): Promise<HttpAnswer> {
    return sendJson('PUT', `${this.baseUrl}${path}`, body, this.headers(headers));
  }

  /** Any method, a raw body and headers as given (plus the token): for malformed requests. */
  raw(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<HttpAnswer> {
    return request(`${this.baseUrl}${path}`, {
      method,
      headers: this.headers(init.headers),
      ...(init.body === undefined ? {} : { body: init.body }),
    });
  }
}
