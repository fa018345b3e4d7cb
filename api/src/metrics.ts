import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from './db.js';
import type { MirrorObserver } from './realtime/realtime-mirror.js';

/**
 * The API's Prometheus metrics: RED per route (rate, errors, duration), the database pool, and
 * Node's defaults (event-loop lag, heap, GC). Served on a port of its own, never through the CDN.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly mirrorDelivered = new Counter({
    name: 'realtime_mirror_delivered_documents_total',
    help: 'Documents copied to Firestore by this process',
    registers: [this.registry],
  });
  private readonly mirrorFailures = new Counter({
    name: 'realtime_mirror_failures_total',
    help: 'Deliveries to Firestore that failed (the changes stay queued and are retried)',
    registers: [this.registry],
  });

  private readonly mirrorDeadLettered = new Counter({
    name: 'realtime_mirror_dead_lettered_total',
    help: 'Changes Firestore refused again and again, moved by this process to realtime_dead_letter',
    registers: [this.registry],
  });

  private readonly writesLimited = new Counter({
    name: 'api_write_rate_limited_total',
    help: 'Writes refused with 429 by the per-user write limit (API_WRITE_LIMIT_*)',
    registers: [this.registry],
  });

  /** Counts a write the per-user limit refused. */
  readonly writeLimited = (): void => {
    this.writesLimited.inc();
  };

  /** Hands the real-time mirror's outcomes to the counters above. */
  readonly mirrorObserver: MirrorObserver = {
    delivered: (count) => this.mirrorDelivered.inc(count),
    failed: () => this.mirrorFailures.inc(),
    deadLettered: (count) => this.mirrorDeadLettered.inc(count),
  };

  constructor(db: Database) {
    this.registry.setDefaultLabels({ service: 'refereezy-api' });
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    const pool = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    pool('db_pool_connections', 'Connections the pool holds to PostgreSQL', () => db.totalCount);
    pool('db_pool_idle_connections', 'Pool connections not in use', () => db.idleCount);
    pool('db_pool_waiting_requests', 'Queries waiting for a free pool connection', () => db.waitingCount);
  }

  /** Reports how many changes wait for Firestore, and how many were given up on, read from Postgres at each scrape. */
  trackOutbox(pending: () => Promise<number>, deadLetters: () => Promise<number>): void {
    new Gauge({
      name: 'realtime_dead_letter_rows',
      help: 'Changes Firestore refused, kept in realtime_dead_letter until an operator replays or drops them',
      registers: [this.registry],
      async collect() {
        this.set(await deadLetters());
      },
    });
    new Gauge({
      name: 'realtime_outbox_pending',
      help: 'Changes waiting in Postgres for the real-time mirror (grows while Firestore is down)',
      registers: [this.registry],
      async collect() {
        this.set(await pending());
      },
    });
  }

  /** Times every request; the route label is the matched pattern (bounded), never the raw path. */
  readonly middleware: RequestHandler = (request, response, next) => {
    const stop = this.duration.startTimer();
    response.once('finish', () => {
      const route = request.route ? String((request.route as { path: unknown }).path) : 'unmatched';
      const labels = { method: request.method, route, status_code: String(response.statusCode) };
      stop(labels);
      this.requests.inc(labels);
    });
    next();
  };
}
