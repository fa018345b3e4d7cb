import { z } from 'zod';

// The one set of rules for the values inventories, roles, operations and the CLI accept: a value
// that passes here can go into an argument vector, a config file or a firewall rule as it is.

/** A POSIX login or group name (useradd's default NAME_REGEX, without a trailing $). */
export const loginNamePattern = /^[a-z_][a-z0-9_-]*$/;
/** A DNS name or an IPv4/IPv6 address: nothing that a shell or ssh would read as an option. */
export const addressPattern = /^[A-Za-z0-9][A-Za-z0-9.:-]*$/;
/** An absolute path without "..", "." or empty parts, and no trailing slash. */
export const absolutePathPattern = /^(\/[A-Za-z0-9_.@+-]+)+$/;

export const loginName = z.string().regex(loginNamePattern, 'a POSIX login name');
export const address = z.string().regex(addressPattern, 'a host name or an IP address');
export const port = z.number().int().min(1).max(65_535);
export const hostName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a name is lower-case letters, digits and dashes');
/** Variables a role reads: free-form per key, but always a mapping of names. */
export const vars = z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'a variable name is snake_case'), z.unknown());
export const ipAddress = z.union([z.ipv4(), z.ipv6()], 'an IP address');

export function isLoginName(name: string): boolean {
  return loginNamePattern.test(name);
}

export function isPort(value: number): boolean {
  return port.safeParse(value).success;
}

/** Whether a path is absolute and normalised (no "..", ".", "//" or trailing "/"). */
export function isAbsolutePath(path: string): boolean {
  return absolutePathPattern.test(path) && !path.split('/').some((part) => part === '..' || part === '.');
}
