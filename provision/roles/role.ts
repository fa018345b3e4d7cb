import type { Host, Inventory } from '../inventories/schema.js';
import { isIP } from 'node:net';
import type { Handler, Task } from '../core/task.js';
import type { InputNeeds, PlanInputs } from './inputs.js';

// Tasks and handlers are the runner's: roles build them.
export type { Handler, Task } from '../core/task.js';

/**
 * What a role may know beyond its host: every host of the inventory (not only those --limit keeps),
 * so a role can name its peers (the db admits the api hosts' addresses, nftables encodes the
 * security groups, Prometheus scrapes every host).
 */
export interface Play {
  hosts: readonly Host[];
  /** The inventory's bastion: its private_address is the source the hosts admit SSH from. */
  bastion?: Readonly<Inventory['bastion']>;
  /**
   * Every host's roles (the registry's answer, given by the play): the common role opens the ports of
   * a host's other roles and reaches its peers' ingress. Given, not imported: the registry imports
   * the common role.
   */
  rolesOf?: (host: Host) => readonly Role[];
  /** The files, trees and releases the roles read, read before planning (PlanInputs.prepare). */
  inputs?: PlanInputs;
}

/** The play's inputs, or an error saying they were not prepared before planning. */
export function playInputs(play: Play): PlanInputs {
  if (play.inputs === undefined)
    throw new Error("the play carries no inputs: prepare the roles' inputs (PlanInputs.prepare) before planning");
  return play.inputs;
}

/** The play's rolesOf, or an error saying the play was built without one. */
export function playRoles(play: Play): (host: Host) => readonly Role[] {
  if (play.rolesOf === undefined) throw new Error('the play names no rolesOf: build it with playOf() (roles/index.ts)');
  return play.rolesOf;
}

/**
 * One inbound rule of a role's security group, enforced on the host by the common role's nftables
 * ruleset (as AWS would at the ENI): everything not allowed is dropped.
 */
export interface IngressRule {
  port: number;
  protocol?: 'tcp' | 'udp';
  /**
   * 'anywhere', or group names: the addresses of the inventory's hosts in them. Two are special:
   * 'bastion' is the bastion's private address; 'edge' is the load balancer: the hosts in group
   * edge and the networks of the host's var `load_balancer_cidrs` (an ALB's subnets).
   */
  from: 'anywhere' | readonly string[];
  /** Why the port is open, written into the ruleset as a comment. */
  why: string;
  /** The Prometheus job that scrapes this port: the monitoring role takes its targets' port from here. */
  scrape?: string;
}

/** Addresses or CIDRs (or 'anywhere') a rule computes from its host's vars; throws naming the var when they do not fit. */
export type AddressesOf = (host: Host, play: Play) => 'anywhere' | readonly string[];

/** Literal addresses or networks for a rule (a plain list names groups). */
export const addresses =
  (...list: string[]): AddressesOf =>
  () =>
    list;

/** Where `host[:port]` points, for an egress rule: the address when it is an IP, else anywhere (a name's addresses can change). */
export function endpoint(hostname: string): AddressesOf {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1');
  return () => (isIP(bare) === 0 ? 'anywhere' : [bare]);
}

/**
 * One outbound rule of a role: where its hosts may open connections beyond the inventory (a
 * provider's API, the apt mirror, DNS, NTP). Connections to other hosts of the inventory need no
 * rule here: a host may open what a peer's ingress admits from it (api → db:5432 because the db
 * role admits 5432 from api), so the two sides never disagree. Everything else is dropped.
 */
export interface EgressRule {
  port: number;
  protocol?: 'tcp' | 'udp';
  /** 'anywhere' (addresses nobody can list: Google's, a mirror's), group names, or addresses from the host's vars. */
  to: 'anywhere' | readonly string[] | AddressesOf;
  why: string;
}

export interface Role {
  name: string;
  /** The ports this role serves and who may reach them. */
  ingress?: readonly IngressRule[];
  /**
   * Where this role's hosts may connect beyond what their peers' ingress admits from them; a
   * function when the rules depend on the host's vars (a proxy's port, a relay's).
   */
  egress?: readonly EgressRule[] | ((host: Host, play: Play) => readonly EgressRule[]);
  /**
   * Hosts converging this role at most this many at a time (a host's whole run, its handlers
   * included, before the next one starts); a host that fails stops the roll: the role's other hosts
   * are not started. For a service behind a load balancer whose restart takes a host out.
   */
  serial?: number;
  /**
   * What the role's tasks read beyond the host's facts (repo files, trees, releases), for the play to
   * read before planning. Throws when the host's vars do not fit: then nothing is built for it, and
   * planning says why.
   */
  inputs?: (host: Host, play: Play) => InputNeeds;
  /**
   * The role's tasks for one host, from the host, the play and the play's inputs alone: reads no file,
   * builds nothing. Throws (before anything connects) when the host's vars do not fit.
   */
  tasks(host: Host, play: Play): Task[];
  handlers: Record<string, Handler>;
}
