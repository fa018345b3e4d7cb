import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { AlertmanagerWebhookSchema } from './alert-message.js';
import type { DeadmanConfig } from './config.js';
import { RequestError, readJson, reply, serveRoutes, type Route } from './json-http.js';
import { OutboxProvider } from './sms/outbox-provider.js';
import type { SmsProvider } from './sms/sms-provider.js';

/** What the switch must tell the admins now, if anything. */
export type DeadmanNotice =
  { kind: 'down'; silentForMs: number; lastBeatAt: number | undefined } | { kind: 'recovered'; downForMs: number };

/**
 * The dead man's switch as a state machine, clock passed in: `beat()` when Alertmanager's
 * Watchdog arrives, `check()` on a timer. It says "down" once when no beat came for `timeoutMs`
 * (counted from start when none ever came), and "recovered" once when beats resume after that.
 */
export class DeadmanSwitch {
  private lastBeatAt: number | undefined;
  private downSince: number | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly startedAt: number,
  ) {}

  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  get lastBeat(): number | undefined {
    return this.lastBeatAt;
  }

  beat(at: number): DeadmanNotice | undefined {
    this.lastBeatAt = at;
    if (this.downSince === undefined) return undefined;
    const notice: DeadmanNotice = { kind: 'recovered', downForMs: at - this.downSince };
    this.downSince = undefined;
    return notice;
  }

  check(at: number): DeadmanNotice | undefined {
    if (this.downSince !== undefined) return undefined;
    const silentForMs = at - (this.lastBeatAt ?? this.startedAt);
    if (silentForMs < this.timeoutMs) return undefined;
    this.downSince = at;
    return { kind: 'down', silentForMs, lastBeatAt: this.lastBeatAt };
  }
}

const minutes = (ms: number) => (ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1_000)} s`);

/** The SMS text (and mail subject) of a notice: the same shape as the SMS notifier's alerts. */
export function deadmanText(notice: DeadmanNotice, environment: string): string {
  if (notice.kind === 'recovered')
    return `[RESOLVED critical] MonitoringDown on ${environment}: the Watchdog heartbeat is back after ${minutes(notice.downForMs)}`;
  const last =
    notice.lastBeatAt === undefined
      ? 'none since the switch started'
      : `last at ${new Date(notice.lastBeatAt).toISOString()}`;
  return `[FIRING critical] MonitoringDown on ${environment}: no Watchdog heartbeat for ${minutes(notice.silentForMs)} (${last}); Prometheus, Alertmanager or their host is down and no alert will reach you`;
}

const runbook = 'docs/runbooks/monitoring-down.md';

export function deadmanMailBody(notice: DeadmanNotice, environment: string): string {
  const what =
    notice.kind === 'down'
      ? `The dead man's switch of ${environment} has had no Watchdog heartbeat from Alertmanager for ${minutes(notice.silentForMs)}.\n` +
        'Prometheus evaluates the Watchdog rule, which always fires, and Alertmanager sends it here every minute. Silence means\n' +
        'Prometheus, Alertmanager or the monitoring host is down, or the network between them and this switch: until it is\n' +
        'fixed, no other alert will reach you.\n'
      : `The Watchdog heartbeat of ${environment} is back after ${minutes(notice.downForMs)}: alerts reach you again.\n`;
  return `${what}\nWhat to do: ${runbook}\n`;
}

export interface StartedDeadman {
  port: number;
  /** Runs one check now (the timer's work), for tests that do not want to wait for the timer. */
  checkNow(): Promise<void>;
  stop(): Promise<void>;
}

export interface DeadmanOptions {
  config: Pick<DeadmanConfig, 'DEADMAN_PORT' | 'DEADMAN_TIMEOUT' | 'SMS_RECIPIENTS' | 'ENVIRONMENT_NAME'>;
  provider: SmsProvider;
  /** Sends one mail to the admins; rejects when the relay did not take it. */
  mail: (subject: string, text: string) => Promise<void>;
  log: (entry: object) => void;
  now?: () => number;
  checkEveryMs?: number;
}

/** The switch's mail, through the platform's relay (the same settings as the daily report's). */
export function smtpMailer(config: DeadmanConfig): (subject: string, text: string) => Promise<void> {
  const transport = nodemailer.createTransport({
    host: config.SMTP_HOST,
    port: config.SMTP_PORT,
    secure: false,
    requireTLS: config.SMTP_REQUIRE_TLS,
    ignoreTLS: !config.SMTP_REQUIRE_TLS,
    ...(config.SMTP_USER ? { auth: { user: config.SMTP_USER, pass: config.SMTP_PASSWORD ?? '' } } : {}),
  });
  return async (subject, text) => {
    await transport.sendMail({ from: config.DEADMAN_FROM, to: config.DEADMAN_TO, subject, text });
  };
}

/**
 * The watcher: POST /heartbeat takes Alertmanager's Watchdog webhook; every few seconds it checks
 * the switch, and texts every recipient and mails the admins itself — through nothing the monitoring
 * host runs. A notice a channel failed to deliver is tried again at the next check until it goes
 * out. GET /outbox (the replica's SMS outbox), /healthz, /metrics.
 */
export async function startDeadman(options: DeadmanOptions): Promise<StartedDeadman> {
  const now = options.now ?? Date.now;
  const { config } = options;
  const environment = config.ENVIRONMENT_NAME;
  const deadman = new DeadmanSwitch(config.DEADMAN_TIMEOUT, now());
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const lastSeen = new Gauge({
    name: 'deadman_watchdog_last_seen_timestamp_seconds',
    help: "When Alertmanager's Watchdog last reached the dead man's switch",
    registers: [registry],
  });
  const down = new Gauge({
    name: 'deadman_monitoring_down',
    help: '1 while the Watchdog heartbeat is missing',
    registers: [registry],
  });
  // Channels still owed a notice (a failed send is retried at the next check).
  let owed: { notice: DeadmanNotice; sms: boolean; mail: boolean } | undefined;

  async function deliver(): Promise<void> {
    if (!owed) return;
    const current = owed;
    const text = deadmanText(current.notice, environment);
    if (!current.sms) {
      const results = await Promise.allSettled(config.SMS_RECIPIENTS.map((to) => options.provider.send(to, text)));
      const failures = results.filter((result) => result.status === 'rejected');
      current.sms = failures.length < results.length;
      options.log({
        event: 'deadman-sms',
        notice: current.notice.kind,
        text,
        recipients: results.length,
        failed: failures.length,
        ...(failures[0] ? { error: String(failures[0].reason) } : {}),
      });
    }
    if (!current.mail) {
      try {
        await options.mail(text, deadmanMailBody(current.notice, environment));
        current.mail = true;
        options.log({ event: 'deadman-mail', notice: current.notice.kind });
      } catch (error) {
        options.log({ event: 'deadman-mail-failed', notice: current.notice.kind, error: String(error) });
      }
    }
    if (current.sms && current.mail && owed === current) owed = undefined;
  }

  function owe(notice: DeadmanNotice | undefined): void {
    if (!notice) return;
    down.set(notice.kind === 'down' ? 1 : 0);
    options.log({ event: `deadman-${notice.kind}`, ...notice });
    owed = { notice, sms: false, mail: false };
  }

  let checking = Promise.resolve();
  const checkNow = (): Promise<void> => {
    checking = checking.then(async () => {
      owe(deadman.check(now()));
      await deliver();
    });
    return checking;
  };

  const routes: Record<string, Route> = {
    'POST /heartbeat': async (request, response) => {
      const parsed = AlertmanagerWebhookSchema.safeParse(await readJson(request));
      if (!parsed.success)
        throw new RequestError(
          400,
          `not an Alertmanager webhook: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`,
        );
      // Only a firing Watchdog is a beat: anything else routed here by mistake must not hide an outage.
      if (!parsed.data.alerts.some((alert) => alert.status === 'firing' && alert.labels['alertname'] === 'Watchdog')) {
        throw new RequestError(422, 'no firing Watchdog alert in this notification');
      }
      const at = now();
      lastSeen.set(at / 1000);
      owe(deadman.beat(at));
      reply(response, 200, { ok: true });
      void checkNow();
    },
    'GET /outbox': async (_request, response) => {
      if (!(options.provider instanceof OutboxProvider))
        throw new RequestError(404, 'no outbox: this switch sends real SMS');
      reply(response, 200, { messages: await options.provider.messages() });
    },
    'GET /healthz': (_request, response) => {
      const lastBeat = deadman.lastBeat;
      reply(response, 200, {
        status: 'ok',
        monitoring: deadman.isDown ? 'down' : 'up',
        lastBeatAt: lastBeat === undefined ? null : new Date(lastBeat).toISOString(),
        timeoutMs: config.DEADMAN_TIMEOUT,
      });
      return Promise.resolve();
    },
    'GET /metrics': async (_request, response) => {
      response.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
    },
  };

  const server = await serveRoutes(routes, config.DEADMAN_PORT, options.log);
  // Checked several times per timeout, never less often than every 15 s.
  const timer = setInterval(
    () => void checkNow(),
    options.checkEveryMs ?? Math.min(15_000, Math.max(1_000, config.DEADMAN_TIMEOUT / 4)),
  );
  return {
    port: (server.address() as AddressInfo).port,
    checkNow,
    stop: async () => {
      clearInterval(timer);
      await checking;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
