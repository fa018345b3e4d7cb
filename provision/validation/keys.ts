import { z } from 'zod';

/** The bits of an ssh-rsa public key blob's modulus (string type, mpint e, mpint n). */
export function rsaBits(blob: Buffer): number {
  let offset = 0;
  const next = () => {
    const length = blob.readUInt32BE(offset);
    const value = blob.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    return value;
  };
  next(); // "ssh-rsa"
  next(); // e
  const n = next();
  const first = n.findIndex((byte) => byte !== 0);
  if (first === -1) return 0;
  return (n.length - first - 1) * 8 + (32 - Math.clz32(n[first] ?? 0));
}

/** sshd refuses smaller RSA keys (RequiredRSASize in compose/bastion/sshd_config): say so before a run, not after. */
export const minimumRsaBits = 3072;

/** One OpenSSH public key line an operator may log in with; an RSA key of at least 3072 bits. */
export const authorizedKey = z
  .string()
  .regex(/^(ssh-ed25519|ecdsa-sha2-nistp256|rsa-sha2-512|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$/, 'an OpenSSH public key line')
  .refine((line) => {
    const [type, key = ''] = line.split(' ');
    if (type !== 'ssh-rsa' && type !== 'rsa-sha2-512') return true;
    try {
      return rsaBits(Buffer.from(key, 'base64')) >= minimumRsaBits;
    } catch {
      return false;
    }
  }, `an RSA key of at least ${minimumRsaBits} bits (sshd's RequiredRSASize): use ed25519, or ssh-keygen -t rsa -b 4096`);

export const authorizedKeys = z.array(authorizedKey).min(1);
