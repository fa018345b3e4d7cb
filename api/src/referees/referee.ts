import { z } from 'zod';

export const licenceLevels = ['grassroots', 'regional', 'national', 'international'] as const;

export const NewRefereeSchema = z.strictObject({
  name: z.string().trim().min(1).max(120),
  email: z.email().max(254),
  licenceLevel: z.enum(licenceLevels),
  /** The referee's Firebase user, so their ID token identifies them. */
  firebaseUid: z
    .string()
    .regex(/^[\w-]{1,128}$/)
    .optional(),
});
export type NewReferee = z.infer<typeof NewRefereeSchema>;

export const RefereeIdSchema = z.strictObject({
  id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});

export const RefereeListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
export type RefereeListQuery = z.infer<typeof RefereeListQuerySchema>;

/** A referee as admins see it. */
export const RefereeSchema = z.strictObject({
  id: z.number().int().positive(),
  name: z.string(),
  email: z.string(),
  licenceLevel: z.enum(licenceLevels),
  firebaseUid: z.string().nullable(),
  /** False once an admin deactivated the referee: the API refuses their requests. */
  active: z.boolean(),
  deactivatedAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
});
export type Referee = z.infer<typeof RefereeSchema>;

/** A referee as other referees see one: who they officiate with, no email, no Firebase uid. */
export const RefereeSummarySchema = z.strictObject({
  id: z.number().int().positive(),
  name: z.string(),
  licenceLevel: z.enum(licenceLevels),
});
export type RefereeSummary = z.infer<typeof RefereeSummarySchema>;

export const summary = ({ id, name, licenceLevel }: Referee): RefereeSummary => ({ id, name, licenceLevel });

/** Who a caller may see: admins everyone; a referee themselves and the officials of their matches. */
export type RefereeVisibility = { all: true } | { all: false; viewer: number };
