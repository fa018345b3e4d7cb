// Healthy when the notifier can do its job: `sms` — its webhook answers; `report` — Prometheus is
// ready and the mail server takes connections (the two things the daily report needs); `deadman` —
// the dead man's switch answers (healthy even while monitoring is down: that is its job to report).
import { connect } from 'node:net';

const check = {
  sms: () => fetch('http://127.0.0.1:9095/healthz', { signal: AbortSignal.timeout(2500) }).then((r) => r.ok),
  deadman: () =>
    fetch(`http://127.0.0.1:${process.env.DEADMAN_PORT ?? 9096}/healthz`, { signal: AbortSignal.timeout(2500) }).then(
      (r) => r.ok,
    ),
  report: async () => {
    const prometheus = process.env.PROMETHEUS_URL ?? 'http://prometheus:9090';
    const ready = await fetch(`${prometheus}/-/ready`, { signal: AbortSignal.timeout(2500) }).then((r) => r.ok);
    const smtp = await new Promise((resolve) => {
      const socket = connect(Number(process.env.SMTP_PORT ?? 25), process.env.SMTP_HOST ?? 'mail');
      socket.setTimeout(2500, () => resolve(false) || socket.destroy());
      socket.once('data', (banner) => resolve(banner.toString().startsWith('220')) || socket.destroy());
      socket.once('error', () => resolve(false));
    });
    return ready && smtp;
  },
}[process.argv[2] ?? 'sms'];

check().then(
  (ok) => process.exit(ok ? 0 : 1),
  () => process.exit(1),
);
