import { z } from 'zod';

const EnvSchema = z.object({
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
  // Longer than the LB's drain so a deploy never cuts a request that is still being answered.
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  // Firebase: ID tokens are verified for this project; Firestore receives the real-time mirror.
  FIREBASE_PROJECT_ID: z.string().regex(/^[a-z0-9-]{4,40}$/).default('refereezy-local'),
  // host:port of the emulators (the replica's firebase service); unset in production, where
  // Google's endpoints and the machine's credentials (GOOGLE_APPLICATION_CREDENTIALS) are used.
  FIREBASE_AUTH_EMULATOR_HOST: z.string().regex(/^[\w.-]+:\d+$/).optional(),
  FIRESTORE_EMULATOR_HOST: z.string().regex(/^[\w.-]+:\d+$/).optional(),
  // Mirror to Firestore: the longest pause between retries while Firestore is unreachable.
  REALTIME_MAX_BACKOFF_MS: z.coerce.number().int().min(100).max(300_000).default(30_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
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
