import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { PlanError } from '../core/errors.js';
import {
  literal,
  pgDatabaseOwnerFact,
  pgRoleFact,
  psql,
  publicSchemaAclFact,
  requireIdentifier,
  type Answer,
  type PgRoleFact,
} from '../facts/postgres.js';
import type { Command, Operation, Plan } from './operation.js';
import { change, noop } from './operation.js';

/**
 * PostgreSQL's roles, databases and schema privileges, changed as its superuser over the local
 * socket (facts/postgres.ts reads them). SQL that carries a password goes to psql's stdin, never into
 * an argument: it shows in no process list, recap or log.
 */

const ident = (name: string) => `"${name}"`;

/** Runs SQL read from stdin; the statements that follow are kept out of the server's log. */
export function sqlCommand(database: string, statements: string[]): Command {
  return {
    argv: psql(database),
    stdin: ['SET log_statement = none;', 'SET log_min_duration_statement = -1;', ...statements, ''].join('\n'),
  };
}

// ---------------------------------------------------------------------------------------------
// SCRAM: the password drift check. pg_authid keeps a SCRAM-SHA-256 verifier (salt, iterations,
// StoredKey, ServerKey); the desired password is checked against it here, as the server would
// at login (RFC 5802/7677), so nothing is stored beside it and nothing changes when it matches.

/** SASLprep, as PostgreSQL applies it: ASCII passwords as they are; others NFKC-normalised. */
function saslPrep(password: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(password) ? password : password.normalize('NFKC');
}

/** Whether a pg_authid.rolpassword verifier is that of this password. */
export function scramVerifierMatches(verifier: string, password: string): boolean {
  const match = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier);
  if (!match) return false;
  const [, iterations = '', salt = '', storedKey = '', serverKey = ''] = match;
  const salted = pbkdf2Sync(saslPrep(password), Buffer.from(salt, 'base64'), Number(iterations), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const stored = createHash('sha256').update(clientKey).digest('base64');
  const server = createHmac('sha256', salted).update('Server Key').digest('base64');
  return stored === storedKey && server === serverKey;
}

// ---------------------------------------------------------------------------------------------
// Roles

export interface PgRoleDesired {
  name: string;
  password: string;
  /** Roles it must be a member of (pg_monitor): others are left alone. */
  memberOf?: string[];
}

export function planPgRole(desired: PgRoleDesired, current: Answer<PgRoleFact>): Plan {
  const memberOf = desired.memberOf ?? [];
  const name = ident(desired.name);
  const inRoles = memberOf.length > 0 ? ` IN ROLE ${memberOf.map(ident).join(', ')}` : '';
  const role = current.value;
  if (role === null) {
    const why = current.answered ? '' : ' (PostgreSQL does not answer yet)';
    return change(`create login role ${desired.name}${inRoles ? ` in ${memberOf.join(', ')}` : ''}${why}`, [
      sqlCommand('postgres', [`CREATE ROLE ${name} LOGIN PASSWORD ${literal(desired.password)}${inRoles};`]),
    ]);
  }
  const statements: string[] = [];
  const what: string[] = [];
  if (!role.login) what.push('allow login');
  if (!scramVerifierMatches(role.verifier, desired.password))
    what.push(role.verifier === '' ? 'set its password' : 'set its password (it differs)');
  if (what.length > 0) statements.push(`ALTER ROLE ${name} LOGIN PASSWORD ${literal(desired.password)};`);
  const missing = memberOf.filter((parent) => !role.memberOf.includes(parent));
  if (missing.length > 0) {
    statements.push(`GRANT ${missing.map(ident).join(', ')} TO ${name};`);
    what.push(`grant ${missing.join(', ')}`);
  }
  if (statements.length === 0)
    return noop(
      `role ${desired.name} can log in with the desired password${memberOf.length > 0 ? ` and is in ${memberOf.join(', ')}` : ''}`,
    );
  return change(`role ${desired.name}: ${what.join(', ')}`, [sqlCommand('postgres', statements)]);
}

/** A login role with this password (checked against its SCRAM verifier) and these memberships. */
export function pgRole(desired: PgRoleDesired): Operation<Answer<PgRoleFact>> {
  for (const name of [desired.name, ...(desired.memberOf ?? [])]) requireIdentifier(name);
  if (desired.password === '') throw new PlanError('', `role ${desired.name}: an empty password`);
  return { fact: pgRoleFact(desired.name), plan: (current) => planPgRole(desired, current) };
}

// ---------------------------------------------------------------------------------------------
// Databases

export interface PgDatabaseDesired {
  name: string;
  owner: string;
}

export function planPgDatabase(desired: PgDatabaseDesired, owner: Answer<string>): Plan {
  if (owner.value === null) {
    return change(
      `create database ${desired.name} owned by ${desired.owner}${owner.answered ? '' : ' (PostgreSQL does not answer yet)'}`,
      [sqlCommand('postgres', [`CREATE DATABASE ${ident(desired.name)} OWNER ${ident(desired.owner)};`])],
    );
  }
  if (owner.value === desired.owner) return noop(`database ${desired.name} exists, owned by ${desired.owner}`);
  return change(`database ${desired.name}: owner ${owner.value} → ${desired.owner}`, [
    sqlCommand('postgres', [`ALTER DATABASE ${ident(desired.name)} OWNER TO ${ident(desired.owner)};`]),
  ]);
}

/** A database owned by this role. */
export function pgDatabase(desired: PgDatabaseDesired): Operation<Answer<string>> {
  requireIdentifier(desired.name);
  requireIdentifier(desired.owner);
  return {
    fact: pgDatabaseOwnerFact(desired.name),
    plan: (owner) => planPgDatabase(desired, owner),
  };
}

// ---------------------------------------------------------------------------------------------
// The public schema: only the application role may use it (as the replica image sets it up).

export interface PublicSchemaDesired {
  database: string;
  /** The one role with USAGE and CREATE; PUBLIC has nothing. */
  user: string;
}

/** The public schema's ACL items ("refereezy=UC/pg_database_owner"). */
export function planPublicSchema(desired: PublicSchemaDesired, acl: Answer<string[]>): Plan {
  const items = acl.value;
  const fix = sqlCommand(desired.database, [
    'REVOKE ALL ON SCHEMA public FROM PUBLIC;',
    `GRANT ALL ON SCHEMA public TO ${ident(desired.user)};`,
  ]);
  if (items === null)
    return change(
      `let only ${desired.user} use schema public of ${desired.database}${acl.answered ? '' : ' (the database does not answer yet)'}`,
      [fix],
    );
  const what: string[] = [];
  // An item "=U/owner" is PUBLIC's; a NULL ACL (reported as no items) means the default: PUBLIC may use it.
  if (items.length === 0 || items.some((item) => item.startsWith('='))) what.push('revoke it from PUBLIC');
  const privileges =
    items
      .find((item) => item.startsWith(`${desired.user}=`))
      ?.split('=')[1]
      ?.split('/')[0] ?? '';
  if (!privileges.includes('U') || !privileges.includes('C')) what.push(`grant it to ${desired.user}`);
  if (what.length === 0)
    return noop(`schema public of ${desired.database}: only ${desired.user} (and its owner) may use it`);
  return change(`schema public of ${desired.database}: ${what.join(', ')}`, [fix]);
}

export function publicSchema(desired: PublicSchemaDesired): Operation<Answer<string[]>> {
  requireIdentifier(desired.database);
  requireIdentifier(desired.user);
  return {
    fact: publicSchemaAclFact(desired.database),
    plan: (acl) => planPublicSchema(desired, acl),
  };
}
