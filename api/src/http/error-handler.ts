import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import { HttpError } from './http-error.js';

export const notFound: RequestHandler = (request, _response, next) => {
  next(new HttpError(404, 'not_found', `no route for ${request.method} ${request.path}`));
};

interface BodyParserError {
  type?: string;
  status?: number;
}

/** Every error leaves as the same JSON shape; a stack trace never reaches the client. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, request, response, _next) => {
    const httpError = toHttpError(error);
    if (httpError.status >= 500) {
      // request.log carries the request id; the error stays in the log, never in the answer.
      (request.log as Logger | undefined ?? logger).error({ err: error }, 'request failed');
    }
    response.status(httpError.status).json({
      error: {
        code: httpError.code,
        message: httpError.message,
        ...(httpError.fields.length ? { fields: httpError.fields } : {}),
      },
    });
  };
}

function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const bodyError = error as BodyParserError;
  // body-parser tags its errors with a type; they are the client's fault.
  if (bodyError.type === 'entity.too.large') {
    return new HttpError(413, 'payload_too_large', 'request body is too large');
  }
  if (bodyError.type === 'entity.parse.failed') {
    return new HttpError(400, 'malformed_json', 'request body is not valid JSON');
  }
  if (bodyError.type && bodyError.status && bodyError.status < 500) {
    return new HttpError(bodyError.status, 'bad_request', 'request body could not be read');
  }
  return new HttpError(500, 'internal_error', 'internal error');
}
