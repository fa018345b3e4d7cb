import { PlanError } from '../core/errors.js';
import type { Fact } from './fact.js';
import { lines } from './fact.js';

/**
 * PostgreSQL's own state, read as its superuser over the local socket (peer authentication: root
 * becomes postgres, no password involved). operations/postgres.ts changes it.
 */

/** A role or database name: plain lower-case identifiers only, so they never need quoting rules. */
export const identifier = /^[a-z_][a-z0-9_]*$/;

export function requireIdentifier(name: string): void {
  if (!identifier.test(name))
    throw new PlanError('', `"${name}" is not a plain PostgreSQL identifier ([a-z_][a-z0-9_]*)`);
}

/** A string literal for SQL (standard_conforming_strings is on: only quotes need doubling). */
export function literal(value: string): string {
  if (value.includes('\0')) throw new PlanError('', 'a SQL string cannot contain a NUL byte');
  return `'${value.replaceAll("'", "''")}'`;
}

/** psql as postgres: no psqlrc, unaligned tuples only, stop at the first error. */
export function psql(database: string, ...args: string[]): string[] {
  return [
    'runuser',
    '-u',
    'postgres',
    '--',
    'psql',
    '--no-psqlrc',
    '--quiet',
    '--no-align',
    '--tuples-only',
    '--set=ON_ERROR_STOP=1',
    `--dbname=${database}`,
    ...args,
  ];
}

/** A probe answered by PostgreSQL: null when it does not answer (not installed, not running). */
export interface Answer<T> {
  answered: boolean;
  value: T | null;
}

export function sqlFact<T>(
  name: string,
  database: string,
  query: string,
  parse: (rows: string[][]) => T | null,
): Fact<Answer<T>> {
  return {
    name,
    command: psql(database, '--field-separator=|', `--command=${query}`),
    parse: ({ code, stdout }) =>
      code === 0
        ? { answered: true, value: parse(lines(stdout).map((line) => line.split('|'))) }
        : { answered: false, value: null },
  };
}

export interface PgRoleFact {
  login: boolean;
  /** The SCRAM verifier (or "" when the role has no password). */
  verifier: string;
  memberOf: string[];
}

export function pgRoleFact(name: string): Fact<Answer<PgRoleFact>> {
  requireIdentifier(name);
  return sqlFact(
    `postgresql role ${name}`,
    'postgres',
    `SELECT a.rolcanlogin, coalesce(a.rolpassword, ''), coalesce((SELECT string_agg(b.rolname, ',' ORDER BY b.rolname) FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = a.oid), '') FROM pg_authid a WHERE a.rolname = ${literal(name)}`,
    (rows) => {
      const [row] = rows;
      if (!row) return null;
      const [login = '', verifier = '', members = ''] = row;
      return { login: login === 't', verifier, memberOf: members === '' ? [] : members.split(',') };
    },
  );
}

/** The owner of a database; null when there is no such database. */
export function pgDatabaseOwnerFact(name: string): Fact<Answer<string>> {
  requireIdentifier(name);
  return sqlFact(
    `postgresql database ${name}`,
    'postgres',
    `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = ${literal(name)}`,
    (rows) => rows[0]?.[0] ?? null,
  );
}

/** The public schema's ACL items ("refereezy=UC/pg_database_owner"); [] for a NULL ACL (the default). */
export function publicSchemaAclFact(database: string): Fact<Answer<string[]>> {
  requireIdentifier(database);
  return sqlFact(
    `schema public of ${database}`,
    database,
    `SELECT coalesce(array_to_string(nspacl, ' '), '') FROM pg_namespace WHERE nspname = 'public'`,
    (rows) => {
      const [row] = rows;
      if (!row) return null;
      const [items = ''] = row;
      return items === '' ? [] : items.split(' ');
    },
  );
}
