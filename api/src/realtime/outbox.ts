import type pg from 'pg';
import type { Match, MatchEvent } from '../matches/match.js';

/**
 * Queues the Firestore documents that apps listen to, inside the caller's transaction: the
 * change and its mirror commit together or not at all.
 */
export async function enqueueDocuments(
  client: pg.ClientBase,
  documents: { path: string; data: object }[],
): Promise<void> {
  if (documents.length === 0) return;
  await client.query(
    'INSERT INTO realtime_outbox (document_path, payload) SELECT * FROM unnest($1::text[], $2::jsonb[])',
    [documents.map((document) => document.path), documents.map((document) => JSON.stringify(document.data))],
  );
}

/**
 * matches/{id}: what a listening app shows of a match. `officialUids` (the Firebase UIDs of its
 * officials) is what firestore.rules reads to let only them see the match and its events.
 */
export const matchDocument = (match: Match, officialUids: string[]) => ({
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
    officialUids,
  },
});

/** The Firebase UIDs of the match's officials (those with one), for its mirrored document. */
export async function officialUidsOf(client: pg.ClientBase, matchId: number): Promise<string[]> {
  const { rows } = await client.query<{ firebase_uid: string }>(
    `SELECT r.firebase_uid FROM match_official o JOIN referee r ON r.id = o.referee_id
      WHERE o.match_id = $1 AND r.firebase_uid IS NOT NULL ORDER BY r.firebase_uid`,
    [matchId],
  );
  return rows.map((row) => row.firebase_uid);
}

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
