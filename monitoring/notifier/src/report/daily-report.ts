import nodemailer from 'nodemailer';
import type { ReportConfig } from '../config.js';
import { collectHealthReport, reportHtml, reportSubject, reportText } from './health-report.js';
import { PrometheusClient } from './prometheus-client.js';

/** Gathers the report from Prometheus and emails it (text and HTML) to the administrators. */
export async function sendDailyReport(config: ReportConfig, log: (entry: object) => void): Promise<void> {
  const report = await collectHealthReport(new PrometheusClient(config.PROMETHEUS_URL), config.ENVIRONMENT_NAME);
  const transport = nodemailer.createTransport({
    host: config.SMTP_HOST,
    port: config.SMTP_PORT,
    secure: false,
    requireTLS: config.SMTP_REQUIRE_TLS,
    ignoreTLS: !config.SMTP_REQUIRE_TLS,
    ...(config.SMTP_USER ? { auth: { user: config.SMTP_USER, pass: config.SMTP_PASSWORD ?? '' } } : {}),
  });
  const info = await transport.sendMail({
    from: config.REPORT_FROM,
    to: config.REPORT_TO,
    subject: reportSubject(report),
    text: reportText(report),
    html: reportHtml(report),
  });
  log({
    event: 'daily-report',
    messageId: info.messageId,
    to: config.REPORT_TO,
    firingAlerts: report.firingAlerts.length,
  });
}

/** Milliseconds from `now` to the next HH:MM (UTC). */
export function untilNext(at: string, now = new Date()): number {
  const [hours = 0, minutes = 0] = at.split(':').map(Number);
  const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hours, minutes));
  if (next.getTime() <= now.getTime()) next.setUTCDate(next.getUTCDate() + 1);
  return next.getTime() - now.getTime();
}
