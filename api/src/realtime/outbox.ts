import type pg from 'pg';
import type { Match, MatchEvent } from '../matches/match.js';

/**
 * Queues the Firestore documents that apps listen to, inside the caller's transaction: the
 * change and its mirror commit together or not at all.
 */
export async function enqueueDocuments(client: pg.ClientBase, documents: { path: string; data: object }[]): Promise<void> {
  if (documents.length === 0) return;
  await client.query(
    'INSERT INTO realtime_outbox (document_path, payload) SELECT * FROM unnest($1::text[], $2::jsonb[])',
    [documents.map((document) => document.path), documents.map((document) => JSON.stringify(document.data))],
  );
}

/** matches/{id}: what a listening app shows of a match. */
export const matchDocument = (match: Match) => ({
  path: `matches/${match.id}`,
  data: {
    competitionId: match.competitionId,
    homeTeam: match.homeTeam,
    awayTeam: match.awayTeam,
    venue: match.venue,
    kickoffAt: match.kickoffAt,
    status: match.status,
    startedAt: match.startedAt,
    finishedAt: match.finishedAt,
  },
});

/** matches/{id}/events/{eventId}: one line of the live timeline. */
export const eventDocument = (event: MatchEvent) => ({
  path: `matches/${event.matchId}/events/${event.id}`,
  data: {
    kind: event.kind,
    period: event.period,
    clockSeconds: event.clockSeconds,
    team: event.team,
    player: event.player,
    playerOff: event.playerOff,
    recordedAt: event.recordedAt,
  },
});
