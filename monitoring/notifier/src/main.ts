// The notifier image's commands:
//   sms-notifier            Alertmanager's SMS webhook receiver (a long-running service)
//   daily-report            sends the daily health report at REPORT_AT (UTC), every day
//   daily-report --now      sends it once, now, and exits (on demand)
//   deadman                 the dead man's switch: takes the Watchdog heartbeat, texts and mails
//                           the admins itself when it stops (a long-running service)
import { loadDeadmanConfig, loadNotifierConfig, loadReportConfig } from './config.js';
import { smtpMailer, startDeadman } from './deadman.js';
import { sendDailyReport, untilNext } from './report/daily-report.js';
import { OutboxProvider } from './sms/outbox-provider.js';
import type { SmsProvider } from './sms/sms-provider.js';
import { SnsProvider } from './sms/sns-provider.js';
import { startSmsNotifier } from './sms-notifier.js';

const log = (entry: object) => {
  console.log(JSON.stringify({ '@timestamp': new Date().toISOString(), ...entry }));
};
const [command, flag] = process.argv.slice(2);

try {
  if (command === 'sms-notifier') {
    const config = loadNotifierConfig();
    const provider: SmsProvider =
      config.SMS_PROVIDER === 'outbox'
        ? new OutboxProvider(config.SMS_OUTBOX_FILE)
        : new SnsProvider(config.AWS_REGION, config.SMS_SENDER_ID);
    const notifier = await startSmsNotifier({
      port: config.NOTIFIER_PORT,
      provider,
      recipients: config.SMS_RECIPIENTS,
      log,
    });
    log({ event: 'listening', port: notifier.port, provider: provider.name });
    process.once('SIGTERM', () => void notifier.stop().then(() => process.exit(0)));
  } else if (command === 'deadman') {
    const config = loadDeadmanConfig();
    const provider: SmsProvider =
      config.SMS_PROVIDER === 'outbox'
        ? new OutboxProvider(config.SMS_OUTBOX_FILE)
        : new SnsProvider(config.AWS_REGION, config.SMS_SENDER_ID);
    const deadman = await startDeadman({ config, provider, mail: smtpMailer(config), log });
    log({ event: 'listening', port: deadman.port, provider: provider.name, timeoutMs: config.DEADMAN_TIMEOUT });
    process.once('SIGTERM', () => void deadman.stop().then(() => process.exit(0)));
  } else if (command === 'daily-report') {
    const config = loadReportConfig();
    if (flag === '--now') {
      await sendDailyReport(config, log);
    } else {
      log({ event: 'scheduled', at: `${config.REPORT_AT} UTC` });
      process.once('SIGTERM', () => process.exit(0));
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, untilNext(config.REPORT_AT)));
        // A failed report is logged and tried again the next day; the process keeps its schedule.
        await sendDailyReport(config, log).catch((error: unknown) => {
          log({ event: 'daily-report-failed', error: String(error) });
        });
      }
    }
  } else {
    console.error('usage: main.js sms-notifier | daily-report [--now] | deadman');
    process.exitCode = 2;
  }
} catch (error) {
  log({ event: 'fatal', error: String(error) });
  process.exitCode = 1;
}
