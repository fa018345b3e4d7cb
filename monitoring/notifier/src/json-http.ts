import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** An error a route throws to answer with its status and message (anything else is a 500). */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const maxBody = 1024 * 1024;

/** The request's body as JSON: 413 over 1 MiB, 400 when it is not JSON. */
export async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBody) throw new RequestError(413, 'body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new RequestError(400, 'body is not JSON');
  }
}

export function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export type Route = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** Serves routes keyed "METHOD /path" on port: 404 for others, errors logged and answered as JSON. */
export async function serveRoutes(
  routes: Record<string, Route>,
  port: number,
  log: (entry: object) => void,
): Promise<Server> {
  const server = createServer((request, response) => {
    const route = routes[`${request.method ?? ''} ${(request.url ?? '').split('?')[0] ?? ''}`];
    if (!route) {
      reply(response, 404, { error: 'not found' });
      return;
    }
    route(request, response).catch((error: unknown) => {
      const status = error instanceof RequestError ? error.status : 500;
      log({ event: 'error', status, message: String(error) });
      reply(response, status, { error: error instanceof RequestError ? error.message : 'internal error' });
    });
  });
  server.listen(port);
  await once(server, 'listening');
  return server;
}
