// The lab's containers: GenericContainer with what its builders lack (an internal network only, a
// second network joined before start, loopback-only published ports, sysctls, a created-listener), a
// wait strategy that reports a machine's output before Testcontainers removes it, and a container's
// output as `docker logs` prints it. Used by provision-lab.ts.
import {
  GenericContainer,
  getContainerRuntimeClient,
  StartedNetwork,
  type ContainerRuntimeClient,
  type WaitStrategy,
} from 'testcontainers';

/** A container's output (`docker logs --tail`), stdout and stderr frames in order. */
export async function containerOutput(client: ContainerRuntimeClient, id: string, tail: number): Promise<string> {
  const raw: unknown = await client.container.dockerode
    .getContainer(id)
    .logs({ stdout: true, stderr: true, tail, follow: false });
  const buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
  // Without a TTY the output is multiplexed: 8-byte frame headers (stream, 0, 0, 0, big-endian length).
  const chunks: Buffer[] = [];
  for (let offset = 0; offset + 8 <= buffer.length;) {
    const length = buffer.readUInt32BE(offset + 4);
    chunks.push(buffer.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Testcontainers removes a container whose wait strategy fails, and its journal with it: this one
 * reports what the machine said first (its output and the tail of its journal), then fails as the
 * wrapped strategy does.
 */
export class ReportingWaitStrategy implements WaitStrategy {
  constructor(
    private readonly name: string,
    private readonly inner: WaitStrategy,
    private readonly report: (container: Parameters<WaitStrategy['waitUntilReady']>[0]) => Promise<void>,
  ) {}

  async waitUntilReady(...args: Parameters<WaitStrategy['waitUntilReady']>): Promise<void> {
    try {
      await this.inner.waitUntilReady(...args);
    } catch (error) {
      await this.report(args[0]).catch(() => undefined);
      throw new Error(`${this.name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  withStartupTimeout(startupTimeoutMs: number): this {
    this.inner.withStartupTimeout(startupTimeoutMs);
    return this;
  }

  isStartupTimeoutSet(): boolean {
    return this.inner.isStartupTimeoutSet();
  }

  getStartupTimeout(): number {
    return this.inner.getStartupTimeout();
  }
}

/** A lab container: GenericContainer plus what it has no builder method for (Testcontainers' documented extension point). */
export class LabContainer extends GenericContainer {
  private readonly joins: { network: StartedNetwork; aliases: string[] }[] = [];
  private onCreated: ((id: string) => void) | undefined;

  /** `docker run --sysctl`: namespaced sysctls, set by Docker at create time. */
  withSysctls(sysctls: Record<string, string>): this {
    this.hostConfig.Sysctls = { ...this.hostConfig.Sysctls, ...sysctls };
    return this;
  }

  /**
   * The container on `network` only, under these aliases. GenericContainer.withNetworkAliases creates
   * the container on Docker's default bridge and then connects it to the network: a host would have
   * egress there, past the lab's NAT gateway. The endpoint is declared at create time instead.
   */
  withOnlyNetwork(network: StartedNetwork, ...aliases: string[]): this {
    this.withNetwork(network);
    this.createOpts.NetworkingConfig = { EndpointsConfig: { [network.getName()]: { Aliases: aliases } } };
    return this;
  }

  /** A second network, joined after create and before start (so the machine boots with both interfaces). */
  withJoinedNetwork(network: StartedNetwork, ...aliases: string[]): this {
    this.joins.push({ network, aliases });
    return this;
  }

  /** A port published on the loopback interface only (`--publish 127.0.0.1::port`; withExposedPorts binds every interface). */
  withLoopbackPort(port: number): this {
    this.withExposedPorts(port);
    const bindings = (this.hostConfig.PortBindings ?? {}) as Record<string, { HostIp?: string; HostPort: string }[]>;
    this.hostConfig.PortBindings = { ...bindings, [`${port}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '0' }] };
    return this;
  }

  /** Told the container's id as soon as it exists, so that the lab removes it whatever happens next. */
  withCreatedListener(listener: (id: string) => void): this {
    this.onCreated = listener;
    return this;
  }

  protected override async containerCreated(containerId: string): Promise<void> {
    this.onCreated?.(containerId);
    const client = await getContainerRuntimeClient();
    const container = client.container.getById(containerId);
    for (const { network, aliases } of this.joins)
      await client.container.connectToNetwork(container, client.network.getById(network.getId()), aliases);
  }
}
