import type { Request } from 'express';
import type { z } from 'zod';
import { HttpError } from './http-error.js';

/** Parses one part of a request with its schema; a mismatch becomes a 400 naming the fields. */
export function parseRequest<Schema extends z.ZodType>(
  request: Request,
  where: 'body' | 'query' | 'params',
  schema: Schema,
): z.infer<Schema> {
  const parsed = schema.safeParse(request[where]);
  if (!parsed.success) throw HttpError.fromZod(where, parsed.error);
  return parsed.data;
}
