import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of one real service, to cut the path to it on demand (the
 * Toxiproxy pattern): while cut, new connections are accepted and then hang, and open ones go
 * silent — what a client sees when a network path is lost, not a polite refusal.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  /** Bytes still to forward towards the service before the path is cut (cutAfter), or null. */
  private budget: { bytes: number; done: () => void } | null = null;

  private constructor(private readonly server: Server) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy: TcpProxy = new TcpProxy(
      createServer((client) => {
        proxy.track(client);
        if (proxy.cut) return; // accepted, never answered
        const upstream = connect(targetPort, targetHost);
        proxy.track(upstream);
        client.on('data', (chunk: Buffer) => proxy.spend(chunk.length));
        client.pipe(upstream).pipe(client);
        const close = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      }),
    );
    proxy.server.listen(0, '127.0.0.1');
    await once(proxy.server, 'listening');
    return proxy;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private spend(bytes: number): void {
    if (!this.budget) return;
    this.budget.bytes -= bytes;
    if (this.budget.bytes > 0) return;
    const { done } = this.budget;
    this.budget = null;
    this.disconnect();
    done();
  }

  /**
   * Cuts the path (as disconnect) once `bytes` more have gone from the clients towards the service:
   * in the middle of an upload, for instance. Resolves when it has cut.
   */
  cutAfter(bytes: number): Promise<void> {
    return new Promise((resolve) => {
      this.budget = { bytes, done: resolve };
    });
  }

  /** Loses the path: open connections stop carrying data, new ones hang. */
  disconnect(): void {
    this.cut = true;
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** The path is back: the hung connections are dropped, so clients reconnect through it. */
  reconnect(): void {
    this.cut = false;
    for (const socket of this.sockets) socket.destroy();
  }

  /**
   * Stops listening first, then drops the open connections: a client that reconnected in between
   * (gRPC does at once) would hold the server open, and its process with it, while the service
   * behind lives on (a shared container).
   */
  async stop(): Promise<void> {
    this.cut = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}
