import { imageTag } from './paths.js';
import { GenericContainer, getContainerRuntimeClient, Wait, type StartedTestContainer } from 'testcontainers';

export interface TapTarget {
  host: string;
  port: number;
}

/**
 * Reaches services of an internal network from the test process, the way an operator would through
 * a jump host: a container of the project's own notifier image joins the network and forwards one
 * local port per target (plain TCP, so IMAP, HTTP and the rest pass as they are).
 */
export class NetworkTap {
  private constructor(
    private readonly container: StartedTestContainer,
    private readonly ports: Map<string, number>,
  ) {}

  static async start(network: string, targets: TapTarget[]): Promise<NetworkTap> {
    const listeners = targets.map((target, index) => ({ ...target, listen: 20_000 + index }));
    const forwarder = `
      const net = require('node:net');
      for (const { listen, host, port } of ${JSON.stringify(listeners)}) {
        net.createServer((client) => {
          const upstream = net.connect(port, host);
          client.pipe(upstream).pipe(client);
          client.on('error', () => upstream.destroy());
          upstream.on('error', () => client.destroy());
        }).listen(listen);
      }`;
    // Docker publishes no port of a container that is only on an internal network: the tap starts
    // on the default bridge, with its ports published, then joins the internal network.
    const container = await new GenericContainer(`refereezy/notifier:${imageTag}`)
      .withEntrypoint(['node', '-e', forwarder])
      .withExposedPorts(...listeners.map((listener) => listener.listen))
      .withWaitStrategy(Wait.forListeningPorts())
      .start();
    try {
      const client = await getContainerRuntimeClient();
      await client.network.getById(network).connect({ Container: container.getId() });
    } catch (error) {
      await container.stop();
      throw error;
    }
    return new NetworkTap(
      container,
      new Map(
        listeners.map((listener) => [`${listener.host}:${listener.port}`, container.getMappedPort(listener.listen)]),
      ),
    );
  }

  /** The 127.0.0.1 port that reaches host:port inside the network. */
  port(host: string, port: number): number {
    const mapped = this.ports.get(`${host}:${port}`);
    if (mapped === undefined) throw new Error(`the tap does not forward ${host}:${port}`);
    return mapped;
  }

  async stop(): Promise<void> {
    await this.container.stop();
  }
}
