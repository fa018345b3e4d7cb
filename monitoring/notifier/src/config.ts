import { z } from 'zod';

const emailList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.email()).min(1));

const SmsSchema = z.discriminatedUnion('SMS_PROVIDER', [
  // The replica: messages land in a file the tests (and a curious developer) read; nothing is sent.
  z.object({
    SMS_PROVIDER: z.literal('outbox'),
    SMS_OUTBOX_FILE: z.string().min(1).default('/var/spool/sms/outbox.jsonl'),
  }),
  // Production: Amazon SNS, with the machine's AWS credentials (instance role) and region.
  z.object({
    SMS_PROVIDER: z.literal('sns'),
    AWS_REGION: z.string().regex(/^[a-z]{2}-[a-z]+-\d$/),
    SMS_SENDER_ID: z
      .string()
      .regex(/^[A-Za-z0-9]{1,11}$/)
      .optional(),
  }),
]);

// E.164 numbers of the on-call admins, comma-separated (from vault in production).
const smsRecipients = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number such as +34600000000')).min(1));

const NotifierSchema = z
  .object({
    NOTIFIER_PORT: z.coerce.number().int().min(0).max(65535).default(9095),
    SMS_RECIPIENTS: smsRecipients,
  })
  .and(SmsSchema);
export type NotifierConfig = z.infer<typeof NotifierSchema>;

const ReportSchema = z.object({
  PROMETHEUS_URL: z.url().default('http://prometheus:9090'),
  SMTP_HOST: z.string().min(1),
  SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(25),
  // The replica's mail server takes plain SMTP on the private network; production needs STARTTLS.
  SMTP_REQUIRE_TLS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
  SMTP_USER: z.string().optional(),
  SMTP_PASSWORD: z.string().optional(),
  REPORT_FROM: z.email(),
  REPORT_TO: emailList,
  // When the scheduled report goes out each day, UTC.
  REPORT_AT: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/)
    .default('07:00'),
  ENVIRONMENT_NAME: z.string().min(1).default('replica'),
});
export type ReportConfig = z.infer<typeof ReportSchema>;

/** "90s", "5m", "1h" → milliseconds. */
const durationMs = z
  .string()
  .regex(/^\d+(ms|s|m|h)$/, 'a duration such as 90s, 5m or 1h')
  .transform((value) => {
    const [, amount = '0', unit = 's'] = /^(\d+)(ms|s|m|h)$/.exec(value) ?? [];
    return Number(amount) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  })
  .pipe(z.number().min(1_000, 'at least 1s'));

const DeadmanSchema = z
  .object({
    DEADMAN_PORT: z.coerce.number().int().min(0).max(65535).default(9096),
    // Alertmanager repeats the Watchdog every minute: a few missed beats, not one late one, raise the alarm.
    DEADMAN_TIMEOUT: durationMs.default(5 * 60_000),
    SMS_RECIPIENTS: smsRecipients,
    SMTP_HOST: z.string().min(1),
    SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(25),
    SMTP_REQUIRE_TLS: z
      .enum(['true', 'false'])
      .default('true')
      .transform((value) => value === 'true'),
    SMTP_USER: z.string().optional(),
    SMTP_PASSWORD: z.string().optional(),
    DEADMAN_FROM: z.email(),
    DEADMAN_TO: emailList,
    ENVIRONMENT_NAME: z.string().min(1).default('replica'),
  })
  .and(SmsSchema);
export type DeadmanConfig = z.infer<typeof DeadmanSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function parse<T>(schema: z.ZodType<T>, env: NodeJS.ProcessEnv, what: string): T {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    `invalid ${what} environment: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'SMS_PROVIDER'}: ${issue.message}`).join('; ')}`,
  );
}

export const loadNotifierConfig = (env: NodeJS.ProcessEnv = process.env) => parse(NotifierSchema, env, 'SMS notifier');
export const loadReportConfig = (env: NodeJS.ProcessEnv = process.env) => parse(ReportSchema, env, 'daily report');
export const loadDeadmanConfig = (env: NodeJS.ProcessEnv = process.env) =>
  parse(DeadmanSchema, env, "dead man's switch");
