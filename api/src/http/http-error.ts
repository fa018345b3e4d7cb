import { z, type ZodError } from 'zod';

/** The body of every error answer. */
export const ErrorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    fields: z.array(z.strictObject({ field: z.string(), message: z.string() })).optional(),
  }),
});

export interface FieldProblem {
  field: string;
  message: string;
}

/** An error the client caused or may see; anything else is reported as a bare 500. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: FieldProblem[] = [],
  ) {
    super(message);
  }

  static fromZod(where: 'body' | 'query' | 'params', error: ZodError): HttpError {
    const fields = error.issues.map((issue) => ({
      field: [where, ...issue.path.map(String)].join('.'),
      message: issue.message,
    }));
    const names = fields.map((problem) => problem.field).join(', ');
    return new HttpError(400, 'validation_failed', `invalid ${names}`, fields);
  }
}
