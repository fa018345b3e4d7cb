import type { Host, Inventory } from '../inventories/schema.js';
import type { Command, Operation } from '../operations/operation.js';

/** One task of a role: a sentence, an operation with its desired state, handlers it notifies on change. */
export interface Task {
  name: string;
  operation: Operation<unknown>;
  notify?: string[];
}

/** Commands run once at the end of a host's run when a task notified them. */
export interface Handler {
  name: string;
  commands: Command[];
}

/**
 * What a role may know beyond its host: every host of the inventory (not only those --limit keeps),
 * so a role can name its peers (the db admits the api hosts' addresses, nftables encodes the
 * security groups, Prometheus scrapes every host).
 */
export interface Play {
  hosts: readonly Host[];
  /** The inventory's bastion: its private_address is the source the hosts admit SSH from. */
  bastion?: Readonly<Inventory['bastion']>;
}

/**
 * One inbound rule of a role's security group, enforced on the host by the common role's nftables
 * ruleset (as AWS would at the ENI): everything not allowed is dropped.
 */
export interface IngressRule {
  port: number;
  protocol?: 'tcp' | 'udp';
  /** 'anywhere', or group names: the addresses of the inventory's hosts in them ('bastion' = the bastion's private address). */
  from: 'anywhere' | readonly string[];
  /** Why the port is open, written into the ruleset as a comment. */
  why: string;
}

export interface Role {
  name: string;
  /** The ports this role serves and who may reach them. */
  ingress?: readonly IngressRule[];
  /** The role's tasks for one host; throws (before anything connects) when the host's vars do not fit. */
  tasks(host: Host, play: Play): Task[];
  handlers: Record<string, Handler>;
}
