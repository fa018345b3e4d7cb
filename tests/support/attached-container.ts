import { getContainerRuntimeClient, type ExecResult } from 'testcontainers';

/** What the suites use of a started container: its address, its ports, exec, stop. */
export interface ContainerHandle {
  getId(): string;
  getHost(): string;
  getMappedPort(port: number): number;
  exec(command: string[]): Promise<ExecResult>;
  stop(): Promise<unknown>;
}

/**
 * A container another test file started (tests/support/shared-replica.ts), found by id, healthy:
 * the same handle a StartedTestContainer gives. Throws when it is gone or not healthy.
 */
export async function attachContainer(id: string): Promise<ContainerHandle> {
  const client = await getContainerRuntimeClient();
  const container = client.container.getById(id);
  const { State, NetworkSettings } = await client.container.inspect(container);
  if (State.Health?.Status !== 'healthy')
    throw new Error(`container ${id} is ${State.Status}/${State.Health?.Status ?? 'no healthcheck'}`);
  const ports = NetworkSettings.Ports as Record<string, { HostPort: string }[] | null>;
  return {
    getId: () => id,
    getHost: () => client.info.containerRuntime.host,
    getMappedPort: (port) => {
      const binding = ports[`${port}/tcp`]?.[0];
      if (!binding) throw new Error(`container ${id} publishes no port ${port}`);
      return Number(binding.HostPort);
    },
    exec: (command) => client.container.exec(container, command),
    stop: async () => {
      await client.container.stop(container, { timeout: 10 });
      await client.container.remove(container, { removeVolumes: true });
    },
  };
}
