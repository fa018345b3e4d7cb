import { z } from 'zod';

export const NewCompetitionSchema = z.strictObject({
  name: z.string().trim().min(1).max(120),
  season: z.string().regex(/^\d{4}(-\d{2,4})?$/, 'a year, or a span such as 2026-27'),
});
export type NewCompetition = z.infer<typeof NewCompetitionSchema>;

export const CompetitionSchema = z.strictObject({
  id: z.number().int().positive(),
  name: z.string(),
  season: z.string(),
  createdAt: z.iso.datetime(),
});
export type Competition = z.infer<typeof CompetitionSchema>;
