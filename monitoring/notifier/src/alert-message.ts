import { z } from 'zod';

/** Alertmanager's webhook body (version 4), the parts the notifier reads. */
export const AlertmanagerWebhookSchema = z.object({
  version: z.literal('4'),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: z.record(z.string(), z.string()),
  commonLabels: z.record(z.string(), z.string()),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        labels: z.record(z.string(), z.string()),
        annotations: z.record(z.string(), z.string()).default({}),
        startsAt: z.string(),
      }),
    )
    .min(1),
});
export type AlertmanagerWebhook = z.infer<typeof AlertmanagerWebhookSchema>;

// Two SMS segments: enough for the alert, its place and its summary, without a wall of text.
const maxLength = 300;

/**
 * One text per notification: what (alert, severity), where (service/instance), and the first
 * alert's summary; "+N more" when the group holds several.
 */
export function smsText(notification: AlertmanagerWebhook): string {
  const [first] = notification.alerts;
  const labels = { ...notification.commonLabels, ...first?.labels };
  const where = labels['service'] ?? labels['instance'] ?? labels['job'] ?? '';
  const severity = labels['severity'] ? ` ${labels['severity']}` : '';
  const more = notification.alerts.length > 1 ? ` (+${notification.alerts.length - 1} more)` : '';
  const summary = notification.status === 'firing' ? (first?.annotations['summary'] ?? '') : 'resolved';
  const text = `[${notification.status.toUpperCase()}${severity}] ${labels['alertname'] ?? 'alert'}${where ? ` on ${where}` : ''}${more}: ${summary}`;
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}
