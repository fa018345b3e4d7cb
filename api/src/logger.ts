import { ecsFormat } from '@elastic/ecs-pino-format';
import { pino } from 'pino';

export type Logger = pino.Logger;

/** JSON lines in Elastic Common Schema, so the log pipeline indexes them without parsing rules. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, ...ecsFormat({ convertReqRes: true, apmIntegration: false, serviceName: 'refereezy-api' }) };
  return destination ? pino(options, destination) : pino(options);
}
