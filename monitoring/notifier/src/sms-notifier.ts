import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { AlertmanagerWebhookSchema, smsText } from './alert-message.js';
import { RequestError, readJson, reply, serveRoutes, type Route } from './json-http.js';
import { OutboxProvider } from './sms/outbox-provider.js';
import type { SmsProvider } from './sms/sms-provider.js';

export interface StartedNotifier {
  server: Server;
  port: number;
  stop(): Promise<void>;
}

/**
 * Alertmanager's webhook receiver for SMS: POST /alert texts every recipient (critical alerts are
 * routed here as well as to email); POST /heartbeat records the dead-man's switch; GET /outbox
 * lists what the replica's outbox provider "sent"; GET /metrics for Prometheus.
 */
export async function startSmsNotifier(options: {
  port: number;
  provider: SmsProvider;
  recipients: string[];
  log: (entry: object) => void;
}): Promise<StartedNotifier> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const sent = new Counter({ name: 'sms_sent_total', help: 'SMS accepted by the provider', registers: [registry] });
  const failed = new Counter({
    name: 'sms_failed_total',
    help: 'SMS the provider refused or did not answer',
    registers: [registry],
  });
  const heartbeat = new Gauge({
    name: 'alerting_watchdog_last_seen_timestamp_seconds',
    help: "When Alertmanager's Watchdog last reached the notifier",
    registers: [registry],
  });

  const routes: Record<string, Route> = {
    'POST /alert': async (request, response) => {
      const parsed = AlertmanagerWebhookSchema.safeParse(await readJson(request));
      if (!parsed.success)
        throw new RequestError(
          400,
          `not an Alertmanager webhook: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`,
        );
      const text = smsText(parsed.data);
      const results = await Promise.allSettled(options.recipients.map((to) => options.provider.send(to, text)));
      const failures = results.filter((result) => result.status === 'rejected');
      sent.inc(results.length - failures.length);
      failed.inc(failures.length);
      options.log({
        event: 'sms',
        provider: options.provider.name,
        text,
        recipients: options.recipients.length,
        failed: failures.length,
      });
      // A 5xx makes Alertmanager retry the notification: only when no recipient got it.
      if (failures.length === results.length)
        throw new RequestError(
          502,
          `the SMS provider refused every message: ${String((failures[0] as PromiseRejectedResult).reason)}`,
        );
      reply(response, 200, { sent: results.length - failures.length, failed: failures.length });
    },
    'POST /heartbeat': async (request, response) => {
      await readJson(request);
      heartbeat.setToCurrentTime();
      reply(response, 200, { ok: true });
    },
    'GET /outbox': async (_request, response) => {
      if (!(options.provider instanceof OutboxProvider))
        throw new RequestError(404, 'no outbox: this notifier sends real SMS');
      reply(response, 200, { messages: await options.provider.messages() });
    },
    'GET /healthz': (_request, response) => {
      reply(response, 200, { status: 'ok', provider: options.provider.name });
      return Promise.resolve();
    },
    'GET /metrics': async (_request, response) => {
      response.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
    },
  };

  const server = await serveRoutes(routes, options.port, options.log);
  return {
    server,
    port: (server.address() as AddressInfo).port,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
