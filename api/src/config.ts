import { z } from 'zod';

const milliseconds = (max: number) => z.coerce.number().int().min(0).max(max);

const EnvSchema = z
  .object({
    // 'production' on every real host (the image and the api role set it); the replica sets its own.
    NODE_ENV: z.string().optional(),
    // 0 asks the OS for a free port (tests).
    API_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    // Prometheus scrapes /metrics here: a port of its own, not reachable through the CDN.
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    DB_HOST: z.string().min(1),
    DB_PORT: z.coerce.number().int().min(1).max(65535).default(5432),
    DB_NAME: z.string().min(1),
    DB_USER: z.string().min(1),
    DB_PASSWORD: z.string().min(1),
    DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
    // Sent by the pool with every connection (so they hold on RDS too, where no role of ours runs):
    // a slow query, a lock wait or a forgotten transaction ends with an error instead of holding a
    // pool connection until the pool is exhausted. 0 turns one off.
    DB_STATEMENT_TIMEOUT_MS: milliseconds(600_000).default(10_000),
    DB_LOCK_TIMEOUT_MS: milliseconds(600_000).default(5_000),
    // Keep it above the real-time mirror's Firestore write deadline (5 s), which runs inside its transaction.
    DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: milliseconds(600_000).default(30_000),
    // Migrations: how long an API start waits for another replica's migration (the advisory lock)
    // before it fails, and how long one migration statement may run (DDL lock waits use the lock
    // timeout above, so a migration never queues every query of the table behind it).
    DB_MIGRATION_LOCK_WAIT_MS: milliseconds(3_600_000).default(120_000),
    DB_MIGRATION_STATEMENT_TIMEOUT_MS: milliseconds(3_600_000).default(600_000),
    // Longer than the LB's drain so a deploy never cuts a request that is still being answered.
    SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
    // Firebase: ID tokens are verified for this project; Firestore receives the real-time mirror.
    FIREBASE_PROJECT_ID: z
      .string()
      .regex(/^[a-z0-9-]{4,40}$/)
      .default('refereezy-local'),
    // host:port of the emulators (the replica's firebase service); unset in production, where
    // Google's endpoints and the machine's credentials (GOOGLE_APPLICATION_CREDENTIALS) are used.
    FIREBASE_AUTH_EMULATOR_HOST: z
      .string()
      .regex(/^[\w.-]+:\d+$/)
      .optional(),
    FIRESTORE_EMULATOR_HOST: z
      .string()
      .regex(/^[\w.-]+:\d+$/)
      .optional(),
    // Mirror to Firestore: the longest pause between retries while Firestore is unreachable.
    REALTIME_MAX_BACKOFF_MS: z.coerce.number().int().min(100).max(300_000).default(30_000),
    // A change Firestore rejects this many times (a rejection, not an outage) goes to the dead letter.
    REALTIME_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1_000).default(5),
    // The per-user limit on the API's write routes (POST, PUT, PATCH, DELETE), a token bucket per
    // Firebase UID in each API process: API_WRITE_LIMIT_BURST writes back to back, refilled at
    // API_WRITE_LIMIT_PER_SECOND (sustained); over it, 429 with Retry-After. A referee records a few
    // events a minute and an admin schedules a season in bursts: 60 and 1/s leave both untouched.
    // API_WRITE_LIMIT_BURST=0 turns the limit off.
    API_WRITE_LIMIT_BURST: z.coerce.number().int().min(0).max(100_000).default(60),
    API_WRITE_LIMIT_PER_SECOND: z.coerce.number().positive().max(100_000).default(1),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, context) => {
    // With an emulator variable set, firebase-admin accepts unsigned ID tokens (anyone can forge one)
    // and writes to an emulator instead of Firestore: never acceptable where real users are.
    if (env.NODE_ENV !== 'production') return;
    for (const name of ['FIREBASE_AUTH_EMULATOR_HOST', 'FIRESTORE_EMULATOR_HOST'] as const) {
      if (env[name] !== undefined) {
        context.addIssue({
          code: 'custom',
          path: [name],
          message: 'must not be set with NODE_ENV=production (the emulators accept unsigned tokens)',
        });
      }
    }
  });

export type ApiConfig = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads the API's settings from the environment; names every invalid variable (never its value). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const parsed = EnvSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigError(`invalid API environment: ${problems.join('; ')}`);
}
