import { ecsFormat } from '@elastic/ecs-pino-format';
import { pino } from 'pino';

export type Logger = pino.Logger;

/** JSON lines in Elastic Common Schema, so the log pipeline indexes them without parsing rules. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, ...ecsFormat({ convertReqRes: true, apmIntegration: false, serviceName: 'refereezy-api' }) };
  // Asynchronous writes to stdout: a request's log line no longer blocks the event loop on a write
  // (they are batched while one is under way); pino flushes what is pending when the process exits.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}
