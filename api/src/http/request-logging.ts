import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The API's logger, bound to this request's id. */
    log: Logger;
  }
}

const requestIdPattern = /^[\w.:-]{1,128}$/;
const quietPaths = new Set(['/healthz', '/readyz']);

/**
 * One ECS log line per request, carrying the id the LB gave it (X-Request-Id), or a new one when
 * the caller came another way; the id is echoed back so clients can quote it. Written by hand:
 * pino-http's request object lands beside, not inside, the ECS fields of @elastic/ecs-pino-format.
 */
export function requestLogging(logger: Logger): RequestHandler {
  return (request, response, next) => {
    const given = request.get('x-request-id');
    const id = given && requestIdPattern.test(given) ? given : randomUUID();
    response.setHeader('X-Request-Id', id);
    request.log = logger.child({ 'http.request.id': id });
    const started = process.hrtime.bigint();
    response.once('finish', () => {
      if (quietPaths.has(request.path)) return;
      const status = response.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      request.log[level](
        {
          'event.duration': Number(process.hrtime.bigint() - started),
          'http.request.method': request.method,
          'http.response.status_code': status,
          'url.path': request.path,
          'client.ip': request.ip,
          'user_agent.original': request.get('user-agent'),
        },
        `${request.method} ${request.path} ${status}`,
      );
    });
    next();
  };
}
