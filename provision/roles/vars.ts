import type { z } from 'zod';
import type { Host } from '../inventories/schema.js';

/** A role's vars for a host, checked by its schema; the error names the host, the role and every bad var. */
export function roleVars<T extends z.ZodType>(schema: T, host: Host, role: string): z.output<T> {
  const parsed = schema.safeParse(host.vars);
  if (parsed.success) return parsed.data;
  throw new Error(
    `host ${host.name}: role ${role}: ${parsed.error.issues.map((issue) => `vars.${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
  );
}
