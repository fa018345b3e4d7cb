import { HttpError } from './http-error.js';

/** A rule of the domain said no: the request was well-formed but conflicts with the current state. */
export function conflict(code: string, message: string): HttpError {
  return new HttpError(409, code, message);
}

export function notFound(what: string): HttpError {
  return new HttpError(404, 'not_found', `${what} does not exist`);
}

/** Postgres error codes the repositories translate into answers. */
export const pgErrors = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
} as const;

export function pgErrorCode(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}
