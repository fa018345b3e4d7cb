// The provisioning lab: production's topology in containers, for the roles' integration tests and the
// provisioning benchmark.
//
//   127.0.0.1:<ephemeral> ──► bastion ─┬─ public network (published SSH)
//                                      └─ internal network (internal: true) ─┬─ every other host
//   default bridge (egress) ◄── apt-proxy ─────────────────────────────────────┘
//
// The bastion and the hosts are EC2-like machines (compose/ec2-host: systemd, OpenSSH, sudo, the
// operator's key installed at first boot). Only the bastion is on the public network; the hosts reach
// the Debian mirror only through apt-cacher-ng (compose/apt-proxy), the lab's NAT gateway (inventory
// var `apt_proxy`). The CLI runs as an operator runs it, through the bastion, with a key pair and a
// known_hosts made for the run: every host key is pinned out of band (read from the machine, as from
// an EC2 console), so no run needs --trust-new-host-keys.
//
// The containers and networks are Testcontainers' (GenericContainer, Network, its runtime client for
// what the builders lack: an internal network, a second network joined before start); the images are
// built with the docker CLI (BuildKit cache mounts).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import {
  getContainerRuntimeClient,
  getReaper,
  LABEL_TESTCONTAINERS_SESSION_ID,
  Network,
  StartedNetwork,
  Wait,
  type ContainerRuntimeClient,
  type StartedTestContainer,
} from 'testcontainers';
import { stringify } from 'yaml';
import type { HostRecap } from '../../provision/core/runner.js';
import { parseSysctlConf } from '../../provision/operations/sysctl.js';
import { encryptVault } from '../../provision/vault/vault.js';
import { sysctlHardeningSource } from '../../provision/roles/common/files.js';
import { buildEc2HostImage, type Release } from './ec2-host-image.js';
import { containerOutput, LabContainer, ReportingWaitStrategy } from './lab-container.js';
import { imageTag, repoRoot } from './paths.js';
import { useRyukOnlyWhereAvailable } from './ryuk.js';

const run = promisify(execFile);

export interface LabHost {
  groups: string[];
  vars?: Record<string, unknown>;
  /** The machine's Debian release (trixie unless named): the lab has a host of each supported one. */
  release?: Release;
}

/** A service container on the internal network (not a machine: no SSH, not in the inventory), e.g. the S3 store. */
export interface LabService {
  image: string;
  environment?: Record<string, string>;
}

export interface ProvisionLabOptions {
  /** The hosts besides the bastion (which the lab always starts, in group `bastion`). */
  hosts: Record<string, LabHost>;
  /** Service containers on the internal network, reached by the hosts under their name; ready when their image's healthcheck passes. */
  services?: Record<string, LabService>;
  /** Group vars; every group a host names is declared, with these vars or none. */
  groups?: Record<string, Record<string, unknown>>;
  /** Inventory vars, over the lab's own (`admin_authorized_keys`, `apt_proxy`). */
  vars?: Record<string, unknown>;
  /** Vars kept in a vault-encrypted file the inventory references (`vault:`), opened with PROVISION_VAULT_PASSWORD. */
  secrets?: Record<string, unknown>;
}

/** `provision/main.ts --json`'s stdout. */
export interface ProvisionRecap {
  inventory: string;
  check: boolean;
  seconds: number;
  hosts: HostRecap[];
}

export interface ProvisionRun {
  code: number;
  recap: ProvisionRecap;
  /** The JSON recap as printed. */
  stdout: string;
  /** The progress lines. */
  stderr: string;
}

export interface ExecResult {
  exitCode: number;
  /** stdout, then stderr. */
  output: string;
}

export interface StartedProvisionLab {
  inventoryFile: string;
  identityFile: string;
  knownHostsFile: string;
  /** The operator's public key line (authorized for `admin` on every machine). */
  publicKey: string;
  /** Where the operator reaches the bastion's SSH. */
  bastionEndpoint: { host: string; port: number };
  /**
   * `node provision/main.ts <inventory> --json --identity … --known-hosts … ...args`, its recap parsed;
   * args may give their own --identity or --known-hosts. `env` adds to (or, undefined, removes from)
   * the CLI's environment; `defaultIdentity: false` passes no --identity (an agent's keys).
   */
  provision(
    args: string[],
    options?: { env?: Record<string, string | undefined>; defaultIdentity?: boolean },
  ): Promise<ProvisionRun>;
  /**
   * The environment an operator's shell would have for `npm run provision -- "$INVENTORY" …` against
   * the lab: INVENTORY, the key, the known_hosts and the vault's password (for runbook commands).
   */
  operatorEnv(): Record<string, string>;
  /** A command on a machine or a service container (docker exec, as root on a machine): the test's own view of the host, not the provisioner's. */
  exec(host: string, argv: string[]): Promise<ExecResult>;
  /**
   * Rewrites the inventory (and its vault) with changed options, for what is only known once the lab
   * runs (e.g. a service's CA certificate made on its first start). Hosts and services stay as started.
   */
  updateInventory(change: (options: ProvisionLabOptions) => ProvisionLabOptions): void;
  /** A machine's address on the internal network. */
  address(host: string): string;
  /** The environment the CLI needs for this lab beyond its options (the vault's password), for commands run as an operator runs them. */
  cliEnv(): Record<string, string>;
  /** A machine's container name (for `docker run --network container:<name>`: a tool seen from that machine). */
  containerName(host: string): string;
  /** The containers' output and each host's journal, for a failure's report. */
  logs(): Promise<string>;
  /** Runs `fn`; when it throws, writes logs() to stderr first. */
  logOnFailure<T>(fn: () => Promise<T>): () => Promise<T>;
  stop(): Promise<void>;
}

const bastionName = 'bastion';
const aptProxyName = 'apt-proxy';
const aptProxyPort = 3142;
/** Kept across runs (a second local run fetches nothing); CI starts from an empty one anyway. */
const aptCacheVolume = 'refereezy_lab_apt_cache';
const labLabel = 'refereezy.provision-lab';
const execTimeoutMs = 120_000;

/**
 * Builds compose/apt-proxy (apt-cacher-ng from Debian). Returns its tag. Built with the docker CLI, as
 * compose/ec2-host is (tests/support/ec2-host-image.ts): both Dockerfiles use BuildKit cache mounts
 * (`RUN --mount=type=cache`), which Testcontainers' GenericContainer.fromDockerfile (dockerode's
 * build API, classic builder without a BuildKit session) does not build.
 */
export async function buildAptProxyImage(): Promise<string> {
  const tag = `refereezy/apt-proxy:${imageTag}`;
  await run('docker', ['build', '--quiet', '--tag', tag, path.join(repoRoot, 'compose', 'apt-proxy')], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return tag;
}

/** The hardening sysctls the common role sets, as the lab must set them at create time (/proc/sys is read-only in a container). */
function hardeningSysctls(): Record<string, string> {
  return Object.fromEntries(parseSysctlConf(readFileSync(sysctlHardeningSource, 'utf8')));
}

interface LabMachine {
  /** Set once the container exists (even if it never gets ready). */
  id?: string;
  started?: StartedTestContainer;
}

class ProvisionLab implements StartedProvisionLab {
  readonly project = `provision-lab-${randomBytes(3).toString('hex')}`;
  readonly dir = mkdtempSync(path.join(tmpdir(), 'provision-lab-'));
  readonly inventoryFile = path.join(this.dir, 'inventory.yaml');
  readonly identityFile = path.join(this.dir, 'id_ed25519');
  readonly knownHostsFile = path.join(this.dir, 'known_hosts');
  readonly publicKey: string;
  bastionEndpoint = { host: '127.0.0.1', port: 0 };
  private readonly networks: StartedNetwork[] = [];
  private internalNetwork: StartedNetwork | undefined;
  /** Inventory name → container, the apt proxy under "apt-proxy". */
  private readonly machines = new Map<string, LabMachine>();
  private readonly addresses = new Map<string, string>();
  /** What machines that never got ready said before Testcontainers removed them. */
  private readonly startFailures: string[] = [];
  private vaultPassword: string | undefined;
  private readonly serviceNames = new Set<string>();
  private options: ProvisionLabOptions | undefined;
  /** The internal network's IPv4 subnet: the lab's stand-in for the load balancer's subnets (web's load_balancer_cidrs). */
  private internalSubnet: string | undefined;

  constructor() {
    const key = ssh2.utils.generateKeyPairSync('ed25519', { comment: this.project });
    writeFileSync(this.identityFile, key.private, { mode: 0o600 });
    this.publicKey = key.public;
    writeFileSync(path.join(this.dir, 'authorized_keys'), `${key.public}\n`);
  }

  async start(options: ProvisionLabOptions): Promise<void> {
    const names = Object.keys(options.hosts);
    const services = Object.entries(options.services ?? {});
    for (const name of [...names, ...services.map(([service]) => service)])
      if (name === aptProxyName) throw new Error(`"${aptProxyName}" is the lab's own container name`);
    for (const [service] of services)
      if (names.includes(service) || service === bastionName)
        throw new Error(`"${service}" names both a host and a service`);
    const releases = [
      ...new Set(
        names
          .map((name) => options.hosts[name]?.release)
          .filter((release): release is Release => release !== undefined && release !== 'trixie'),
      ),
    ];
    const [hostImage, proxyImage, ...releaseImages] = await Promise.all([
      buildEc2HostImage(),
      buildAptProxyImage(),
      ...releases.map((release) => buildEc2HostImage(release)),
    ]);
    const imageOf = (name: string) => {
      const release = options.hosts[name]?.release;
      return release === undefined || release === 'trixie'
        ? hostImage
        : (releaseImages[releases.indexOf(release)] ?? hostImage);
    };
    const client = await getContainerRuntimeClient();

    this.networks.push(await new Network().start());
    // Testcontainers' Network takes no options; an internal network (no egress) is created through its
    // runtime client, labelled like its own so that Ryuk, where it runs, reaps it too.
    const reaper = await getReaper(client);
    const internalName = `${this.project}-internal`;
    const created = await client.network.create({
      Name: internalName,
      Driver: 'bridge',
      Internal: true,
      Labels: {
        'org.testcontainers': 'true',
        [LABEL_TESTCONTAINERS_SESSION_ID]: reaper.sessionId,
        [labLabel]: this.project,
      },
    });
    this.internalNetwork = new StartedNetwork(client, internalName, created);
    const inspected = (await client.container.dockerode.getNetwork(internalName).inspect()) as {
      IPAM?: { Config?: { Subnet?: string }[] };
    };
    this.internalSubnet = inspected.IPAM?.Config?.find((config) => config.Subnet?.includes('.'))?.Subnet;
    this.networks.push(this.internalNetwork);
    const [publicNetwork] = this.networks as [StartedNetwork, StartedNetwork];

    // Published ports need a non-internal network: the bastion starts on the public one and joins the internal one.
    const bastion = this.machine(bastionName, hostImage)
      .withNetwork(publicNetwork)
      .withJoinedNetwork(this.internalNetwork, bastionName)
      .withLoopbackPort(22);
    const starts = [
      this.startAptProxy(proxyImage, client),
      this.startMachine(bastionName, bastion),
      ...names
        .filter((name) => name !== bastionName)
        .map((name) =>
          this.startMachine(
            name,
            this.machine(name, imageOf(name)).withOnlyNetwork(this.internalNetwork as StartedNetwork, name),
          ),
        ),
      ...services.map(([name, service]) => this.startService(name, service, client)),
    ];
    // Every start settles before a failure is reported: stop() then finds every container.
    const failed = (await Promise.allSettled(starts)).find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;

    this.bastionEndpoint = { host: '127.0.0.1', port: this.started(bastionName).getMappedPort(22) };
    await this.pinHostKeys();
    this.writeInventory(options);
  }

  /** An EC2-like machine: systemd as PID 1, sshd, the operator's key. */
  private machine(name: string, image: string): LabContainer {
    return (
      new LabContainer(image)
        .withName(`${this.project}-${name}`)
        .withHostname(name)
        .withLabels({ [labLabel]: this.project })
        // systemd as PID 1 without --privileged (which fails here).
        .withTmpFs({ '/run': 'rw', '/run/lock': 'rw' })
        .withBindMounts([
          { source: '/sys/fs/cgroup', target: '/sys/fs/cgroup', mode: 'ro' },
          { source: path.join(this.dir, 'authorized_keys'), target: '/etc/ec2-host/authorized_keys', mode: 'ro' },
        ])
        // NET_ADMIN for nftables. SYS_ADMIN: systemd sandboxes a unit with User= and seccomp options
        // (SystemCallFilter=, PrivateDevices=, RestrictAddressFamilies=: the api and postgresql units;
        // PrivateUsers=: Debian's prometheus) by keeping CAP_SYS_ADMIN across the user switch; without
        // it they fail with 217/USER. With it, ProtectSystem= and the rest are enforced as on EC2
        // instead of silently skipped.
        .withAddedCapabilities('NET_ADMIN', 'SYS_ADMIN')
        .withSysctls(hardeningSysctls())
        .withCommand(['/sbin/init'])
        .withWaitStrategy(
          new ReportingWaitStrategy(
            name,
            Wait.forSuccessfulCommand('systemctl is-active --quiet ssh.service'),
            async (container) => {
              const client = await getContainerRuntimeClient();
              const journal = await client.container.exec(container, ['journalctl', '-n', '80', '--no-pager'], {
                log: false,
              });
              this.startFailures.push(
                `── ${name}: not ready; its output ──\n${await containerOutput(client, container.id, 200)}\n── ${name}: journal ──\n${journal.output}`,
              );
            },
          ),
        )
        .withStartupTimeout(90_000)
    );
  }

  private async startMachine(name: string, container: LabContainer): Promise<void> {
    const machine: LabMachine = {};
    this.machines.set(name, machine);
    machine.started = await container.withCreatedListener((id) => (machine.id = id)).start();
    this.addresses.set(name, this.internalAddress(name));
  }

  private async startService(name: string, service: LabService, client: ContainerRuntimeClient): Promise<void> {
    this.serviceNames.add(name);
    const container = new LabContainer(service.image)
      .withName(`${this.project}-${name}`)
      .withHostname(name)
      .withLabels({ [labLabel]: this.project })
      .withOnlyNetwork(this.internalNetwork as StartedNetwork, name)
      .withEnvironment(service.environment ?? {})
      .withWaitStrategy(
        new ReportingWaitStrategy(name, Wait.forHealthCheck(), async (unready) => {
          this.startFailures.push(
            `── ${name}: not healthy; its output ──\n${await containerOutput(client, unready.id, 200)}`,
          );
        }),
      )
      .withStartupTimeout(90_000);
    await this.startMachine(name, container);
  }

  private async startAptProxy(image: string, client: ContainerRuntimeClient): Promise<void> {
    // The shared cache serves one proxy at a time: a second lab running meanwhile gets a cache of its own.
    const inUse = await client.container.dockerode.listContainers({ filters: { volume: [aptCacheVolume] } });
    const container = new LabContainer(image)
      .withName(`${this.project}-${aptProxyName}`)
      .withHostname(aptProxyName)
      .withLabels({ [labLabel]: this.project })
      // Egress through Docker's default bridge; the hosts reach it on the internal network.
      .withNetworkMode('bridge')
      .withJoinedNetwork(this.internalNetwork as StartedNetwork, aptProxyName)
      // A named volume as a bind source: Docker's Binds take volume names too.
      .withBindMounts(inUse.length > 0 ? [] : [{ source: aptCacheVolume, target: '/var/cache/apt-cacher-ng' }])
      .withWaitStrategy(
        new ReportingWaitStrategy(aptProxyName, Wait.forHealthCheck(), async (unready) => {
          this.startFailures.push(
            `── ${aptProxyName}: not healthy; its output ──\n${await containerOutput(client, unready.id, 200)}`,
          );
        }),
      )
      .withStartupTimeout(60_000);
    await this.startMachine(aptProxyName, container);
  }

  private started(name: string): StartedTestContainer {
    const started = this.machines.get(name)?.started;
    if (!started) throw new Error(`no machine "${name}" in the lab (${[...this.machines.keys()].join(', ')})`);
    return started;
  }

  private internalAddress(name: string): string {
    const network = (this.internalNetwork as StartedNetwork).getName();
    const address = this.started(name).getIpAddress(network);
    if (!address) throw new Error(`${name}: no address on ${network}`);
    return address;
  }

  /** known_hosts from each machine's own host key, as an operator copies it from the EC2 console. */
  private async pinHostKeys(): Promise<void> {
    const lines: string[] = [];
    for (const name of this.machines.keys()) {
      if (name === aptProxyName || this.serviceNames.has(name)) continue;
      const key = (await this.exec(name, ['cat', '/etc/ssh/ssh_host_ed25519_key.pub'])).output
        .trim()
        .split(/\s+/)
        .slice(0, 2)
        .join(' ');
      if (!key.startsWith('ssh-ed25519 ')) throw new Error(`${name}: no ed25519 host key (${key})`);
      lines.push(`${this.address(name)} ${key}`);
      if (name === bastionName) lines.push(`[${this.bastionEndpoint.host}]:${this.bastionEndpoint.port} ${key}`);
    }
    writeFileSync(this.knownHostsFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  }

  updateInventory(change: (options: ProvisionLabOptions) => ProvisionLabOptions): void {
    if (!this.options) throw new Error('the lab has not started');
    this.writeInventory(change(this.options));
  }

  private writeInventory(options: ProvisionLabOptions): void {
    this.options = options;
    const hosts: Record<string, { address: string; groups: string[]; vars?: Record<string, unknown> }> = {};
    const given = options.hosts[bastionName];
    // The bastion converges too: the provisioner reaches it through itself, at its internal address.
    hosts[bastionName] = {
      address: this.address(bastionName),
      groups: [...new Set([bastionName, ...(given?.groups ?? [])])],
      ...(given?.vars ? { vars: given.vars } : {}),
    };
    for (const [name, host] of Object.entries(options.hosts)) {
      if (name !== bastionName)
        hosts[name] = { address: this.address(name), groups: host.groups, ...(host.vars ? { vars: host.vars } : {}) };
    }
    const groups: Record<string, Record<string, unknown>> = {};
    for (const name of new Set([
      ...Object.values(hosts).flatMap((host) => host.groups),
      ...Object.keys(options.groups ?? {}),
    ]))
      groups[name] = options.groups?.[name] ?? {};

    let vault: string | undefined;
    if (options.secrets) {
      this.vaultPassword = randomBytes(18).toString('base64url');
      vault = 'secrets.vault.yaml';
      writeFileSync(path.join(this.dir, vault), encryptVault(stringify(options.secrets), this.vaultPassword), {
        mode: 0o600,
      });
    }
    const inventory = {
      bastion: {
        host: this.bastionEndpoint.host,
        port: this.bastionEndpoint.port,
        user: 'admin',
        private_address: this.address(bastionName),
      },
      user: 'admin',
      ...(vault ? { vault } : {}),
      // load_balancer_cidrs: the lab has no load balancer; every lab host may play one (a test narrows it with group vars).
      vars: {
        admin_authorized_keys: [this.publicKey],
        apt_proxy: `http://${this.address('apt-proxy')}:${aptProxyPort}`,
        ...(this.internalSubnet ? { load_balancer_cidrs: [this.internalSubnet] } : {}),
        ...options.vars,
      },
      groups,
      hosts,
    };
    writeFileSync(
      this.inventoryFile,
      `# The provisioning lab ${this.project}: written by tests/support/provision-lab.ts.\n${stringify(inventory, { lineWidth: 0 })}`,
    );
  }

  async provision(
    args: string[],
    options: { env?: Record<string, string | undefined>; defaultIdentity?: boolean } = {},
  ): Promise<ProvisionRun> {
    // The lab's key and known_hosts unless the caller gives its own (the CLI takes an option once).
    const given = (option: string) => args.some((arg) => arg === option || arg.startsWith(`${option}=`));
    const defaults = [
      ...(given('--json') ? [] : ['--json']),
      ...(given('--identity') || options.defaultIdentity === false ? [] : ['--identity', this.identityFile]),
      ...(given('--known-hosts') ? [] : ['--known-hosts', this.knownHostsFile]),
    ];
    const argv = ['--import', 'tsx', 'provision/main.ts', this.inventoryFile, ...defaults, ...args];
    // The lab's vault password, and no other source of one (a password file would win over it).
    const { PROVISION_VAULT_PASSWORD_FILE: _file, PROVISION_VAULT_PASSWORD: _password, ...inherited } = process.env;
    const env: Record<string, string | undefined> = {
      ...inherited,
      ...(this.vaultPassword ? { PROVISION_VAULT_PASSWORD: this.vaultPassword } : {}),
      ...options.env,
    };
    for (const [key, value] of Object.entries(env)) if (value === undefined) Reflect.deleteProperty(env, key);
    let code = 0;
    let stdout: string;
    let stderr: string;
    try {
      ({ stdout, stderr } = await run(process.execPath, argv, {
        cwd: repoRoot,
        env,
        maxBuffer: 64 * 1024 * 1024,
        timeout: 20 * 60_000,
      }));
    } catch (error) {
      const failed = error as { code: number | string; stdout?: string; stderr?: string; killed?: boolean };
      if (typeof failed.code !== 'number')
        throw new Error(
          `provision ${args.join(' ')}: ${failed.killed ? 'timed out' : failed.code}\n${failed.stderr ?? ''}`,
          { cause: error },
        );
      ({ code } = failed);
      stdout = failed.stdout ?? '';
      stderr = failed.stderr ?? '';
    }
    let recap: ProvisionRecap;
    try {
      recap = JSON.parse(stdout) as ProvisionRecap;
    } catch {
      throw new Error(`provision ${args.join(' ')}: no JSON recap (exit ${code})\n${stdout}\n${stderr}`);
    }
    return { code, recap, stdout, stderr };
  }

  operatorEnv(): Record<string, string> {
    return {
      INVENTORY: this.inventoryFile,
      PROVISION_SSH_KEY: this.identityFile,
      PROVISION_KNOWN_HOSTS: this.knownHostsFile,
      ...(this.vaultPassword ? { PROVISION_VAULT_PASSWORD: this.vaultPassword } : {}),
    };
  }

  async exec(host: string, argv: string[]): Promise<ExecResult> {
    const started = this.started(host);
    const timeout = new AbortController();
    try {
      const { stdout, stderr, exitCode } = await Promise.race([
        started.exec(argv),
        sleep(execTimeoutMs, undefined, { signal: timeout.signal }).then(() => {
          throw new Error(`${host}: ${argv.join(' ')}: no exit after ${execTimeoutMs / 1000} s`);
        }),
      ]);
      return { exitCode, output: stdout + stderr };
    } finally {
      timeout.abort();
    }
  }

  address(host: string): string {
    const address = this.addresses.get(host);
    if (!address) throw new Error(`no machine "${host}" in the lab (${[...this.addresses.keys()].join(', ')})`);
    return address;
  }

  cliEnv(): Record<string, string> {
    return this.vaultPassword ? { PROVISION_VAULT_PASSWORD: this.vaultPassword } : {};
  }

  containerName(host: string): string {
    return this.started(host).getName().replace(/^\//, '');
  }

  async logs(): Promise<string> {
    const client = await getContainerRuntimeClient();
    const sections = [...this.startFailures];
    for (const [name, machine] of this.machines) {
      // A machine that never got ready was reported (and removed) by its wait strategy.
      if (!machine.id || (!machine.started && this.startFailures.some((failure) => failure.startsWith(`── ${name}:`))))
        continue;
      const output = await containerOutput(client, machine.id, 200).catch((error: unknown) => String(error));
      const journal =
        name === aptProxyName || this.serviceNames.has(name) || !machine.started
          ? ''
          : (
              await this.exec(name, ['journalctl', '--no-pager', '--lines=200']).catch((error: unknown) => ({
                output: String(error),
              }))
            ).output;
      sections.push(
        `── ${name} (${machine.started?.getName().replace(/^\//, '') ?? machine.id}) ──\n${output}${journal ? `\n── ${name}: journal ──\n${journal}` : ''}`,
      );
    }
    return sections.join('\n');
  }

  logOnFailure<T>(fn: () => Promise<T>): () => Promise<T> {
    return async () => {
      try {
        return await fn();
      } catch (error) {
        process.stderr.write(`\n${await this.logs()}\n`);
        throw error;
      }
    };
  }

  /** Removes every container (and its anonymous volumes, not the apt cache) and network, whatever state the lab is in. */
  async stop(): Promise<void> {
    const client = await getContainerRuntimeClient();
    await Promise.all(
      [...this.machines.values()].map(async (machine) => {
        if (machine.started)
          await machine.started.stop({ timeout: 0, remove: true, removeVolumes: true }).catch(() => undefined);
        // Created but never started or ready (Testcontainers removes an unready one itself; this is the backstop).
        if (machine.id)
          await client.container.dockerode
            .getContainer(machine.id)
            .remove({ force: true, v: true })
            .catch(() => undefined);
      }),
    );
    for (const network of this.networks.reverse()) await network.stop().catch(() => undefined);
    this.networks.length = 0;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Starts the lab: the bastion (group `bastion`), one EC2-like machine per host, the apt proxy, and an
 * inventory naming them all. On a failure to start, the containers' output is written to stderr and
 * everything is removed.
 */
export async function startProvisionLab(options: ProvisionLabOptions): Promise<StartedProvisionLab> {
  await useRyukOnlyWhereAvailable();
  const lab = new ProvisionLab();
  try {
    await lab.start(options);
    return lab;
  } catch (error) {
    process.stderr.write(`provision lab ${lab.project} failed to start:\n${await lab.logs().catch(() => '')}\n`);
    await lab.stop();
    throw error;
  }
}
