import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import { HttpError } from './http-error.js';

export const notFound: RequestHandler = (request, _response, next) => {
  next(new HttpError(404, 'not_found', `no route for ${request.method} ${request.path}`));
};

interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
}

/** Every error leaves as the same JSON shape; a stack trace never reaches the client. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, request, response, _next) => {
    const httpError = toHttpError(error);
    if (httpError.status >= 500) {
      // request.log carries the request id; the error stays in the log, never in the answer.
      ((request.log as Logger | undefined) ?? logger).error({ err: error }, 'request failed');
    }
    if (httpError.status === 503) response.setHeader('Retry-After', '1');
    response.status(httpError.status).json({
      error: {
        code: httpError.code,
        message: httpError.message,
        ...(httpError.fields.length ? { fields: httpError.fields } : {}),
      },
    });
  };
}

// PostgreSQL's codes for work its timeouts ended: statement_timeout (query_canceled), lock_timeout
// (lock_not_available), idle_in_transaction_session_timeout. The request can be retried.
const databaseTimeouts = new Set(['57014', '55P03', '25P03']);

function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && databaseTimeouts.has(code)) {
    return new HttpError(
      503,
      'database_timeout',
      'the database did not answer in time (a statement or lock timeout); retry shortly',
    );
  }
  // pg's pool found no free connection within its connection timeout: every one is busy.
  if (error instanceof Error && /^timeout exceeded when trying to connect/.test(error.message)) {
    return new HttpError(503, 'database_busy', 'every database connection is busy; retry shortly');
  }
  const bodyError = error as BodyParserError;
  // body-parser tags its errors with a type; they are the client's fault.
  if (bodyError.type === 'entity.too.large') {
    return new HttpError(413, 'payload_too_large', 'request body is too large');
  }
  if (bodyError.type === 'entity.parse.failed') {
    return new HttpError(400, 'malformed_json', 'request body is not valid JSON');
  }
  // Express's router throws a URIError (status 400) for a path like /api/matches/%ZZ.
  if (error instanceof URIError) {
    return new HttpError(400, 'malformed_url', 'the URL is not validly percent-encoded');
  }
  // Any other error Express or body-parser marked as the client's (http-errors' 4xx).
  const status = bodyError.status ?? bodyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new HttpError(status, 'bad_request', 'the request could not be read');
  }
  return new HttpError(500, 'internal_error', 'internal error');
}
