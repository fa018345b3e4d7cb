import { z } from 'zod';

export const matchStatuses = ['scheduled', 'live', 'finished'] as const;
export type MatchStatus = (typeof matchStatuses)[number];

export const officialRoles = ['referee', 'assistant_1', 'assistant_2', 'fourth_official', 'var'] as const;
export type OfficialRole = (typeof officialRoles)[number];

/** The one way a match moves: scheduled → live → finished. */
const nextStatus: Record<MatchStatus, MatchStatus | null> = { scheduled: 'live', live: 'finished', finished: null };

export function canMoveTo(from: MatchStatus, to: MatchStatus): boolean {
  return nextStatus[from] === to;
}

/** What a caller may do with a match, given the roles they hold in it. */
export type MatchAccess = 'view' | 'officiate' | 'report';

/**
 * Admins manage every match; a referee sees the matches they officiate in any role, and only the
 * match's referee runs it (status, events) and reports on it. Reports are the referee's own words:
 * not even an admin writes one.
 */
export function mayAccess(
  caller: { role: 'admin' | 'referee'; refereeId: number | null },
  officials: Match['officials'],
  access: MatchAccess,
): boolean {
  if (caller.role === 'admin' && access !== 'report') return true;
  const roles = officials
    .filter((official) => official.refereeId === caller.refereeId)
    .map((official) => official.role);
  return access === 'view' ? roles.length > 0 : roles.includes('referee');
}

/** Events are recorded while the ball can be in play; the report once it is over. */
export const canRecordEvents = (status: MatchStatus): boolean => status === 'live';
export const canSubmitReport = (status: MatchStatus): boolean => status === 'finished';

const id = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const team = z.string().trim().min(1).max(120);

export const MatchIdSchema = z.strictObject({ id });
export const OfficialParamsSchema = z.strictObject({ id, role: z.enum(officialRoles) });

export const NewMatchSchema = z
  .strictObject({
    competitionId: id,
    homeTeam: team,
    awayTeam: team,
    venue: z.string().trim().min(1).max(200),
    kickoffAt: z.iso.datetime({ offset: true }),
  })
  .refine((match) => match.homeTeam.toLowerCase() !== match.awayTeam.toLowerCase(), {
    error: 'a team cannot play itself',
    path: ['awayTeam'],
  });
export type NewMatch = z.infer<typeof NewMatchSchema>;

export const MatchListQuerySchema = z.strictObject({
  competitionId: id.optional(),
  status: z.enum(matchStatuses).optional(),
  refereeId: id.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
export type MatchListQuery = z.infer<typeof MatchListQuerySchema>;

export const StatusChangeSchema = z.strictObject({ status: z.enum(matchStatuses) });
export const AssignOfficialSchema = z.strictObject({ refereeId: id });

const clock = {
  period: z.number().int().min(1).max(5),
  // Seconds on the match clock (45:00 → 2700); three hours bounds extra time and stoppages.
  clockSeconds: z.number().int().min(0).max(10_800),
};
const player = z.string().trim().min(1).max(80);
const side = z.enum(['home', 'away']);

export const NewMatchEventSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.enum(['period_start', 'period_end']), ...clock }),
  z.strictObject({ kind: z.enum(['goal', 'yellow_card', 'red_card']), ...clock, team: side, player }),
  z.strictObject({ kind: z.literal('substitution'), ...clock, team: side, player, playerOff: player }),
]);
export type NewMatchEvent = z.infer<typeof NewMatchEventSchema>;

export const IdempotencyKeySchema = z
  .string({ error: 'the Idempotency-Key header is required' })
  .regex(/^[A-Za-z0-9._:-]{8,128}$/, '8 to 128 characters: letters, digits, . _ : -');

export const NewMatchReportSchema = z.strictObject({
  homeScore: z.number().int().min(0).max(99),
  awayScore: z.number().int().min(0).max(99),
  summary: z.string().trim().min(1).max(10_000),
  incidents: z.string().trim().max(10_000).optional(),
});
export type NewMatchReport = z.infer<typeof NewMatchReportSchema>;

const timestamp = z.iso.datetime();

export const MatchSchema = z.strictObject({
  id: z.number().int().positive(),
  competitionId: z.number().int().positive(),
  homeTeam: z.string(),
  awayTeam: z.string(),
  venue: z.string(),
  kickoffAt: timestamp,
  status: z.enum(matchStatuses),
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  officials: z.array(z.strictObject({ role: z.enum(officialRoles), refereeId: z.number().int().positive() })),
});
export type Match = z.infer<typeof MatchSchema>;

export const MatchEventSchema = z.strictObject({
  id: z.number().int().positive(),
  matchId: z.number().int().positive(),
  kind: z.enum(['goal', 'yellow_card', 'red_card', 'substitution', 'period_start', 'period_end']),
  period: z.number().int(),
  clockSeconds: z.number().int(),
  team: z.enum(['home', 'away']).nullable(),
  player: z.string().nullable(),
  playerOff: z.string().nullable(),
  /** The referee who entered the event (null when an admin without a referee record did). */
  recordedBy: z.number().int().positive().nullable(),
  recordedAt: timestamp,
});
export type MatchEvent = z.infer<typeof MatchEventSchema>;

export const MatchReportSchema = z.strictObject({
  matchId: z.number().int().positive(),
  refereeId: z.number().int().positive(),
  homeScore: z.number().int(),
  awayScore: z.number().int(),
  summary: z.string(),
  incidents: z.string().optional(),
  submittedAt: timestamp,
});
export type MatchReport = z.infer<typeof MatchReportSchema>;

/** Whether a stored event is the one this request describes (a retry), not a reuse of its key. */
export function sameEvent(stored: MatchEvent, requested: NewMatchEvent): boolean {
  return (
    stored.kind === requested.kind &&
    stored.period === requested.period &&
    stored.clockSeconds === requested.clockSeconds &&
    stored.team === ('team' in requested ? requested.team : null) &&
    stored.player === ('player' in requested ? requested.player : null) &&
    stored.playerOff === ('playerOff' in requested ? requested.playerOff : null)
  );
}
