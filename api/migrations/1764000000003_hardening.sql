-- Up Migration
-- An admin deactivates a referee: from that moment the API refuses their requests (it reads this
-- column on every request), whatever token they still hold.
ALTER TABLE referee ADD COLUMN deactivated_at timestamptz;

-- Who entered each event: recorded_by names the referee when the caller is one; recorded_by_uid
-- names the Firebase user in every case (an admin without a referee record included).
ALTER TABLE match_event ADD COLUMN recorded_by_uid text CHECK (char_length(recorded_by_uid) BETWEEN 1 AND 128);

-- Outbox rows Firestore rejected again and again: moved here so the mirror moves on, kept (with
-- the last error) for an operator to fix and replay, or drop.
CREATE TABLE realtime_dead_letter (
  id               bigint      PRIMARY KEY,
  document_path    text        NOT NULL,
  payload          jsonb       NOT NULL,
  enqueued_at      timestamptz NOT NULL,
  attempts         integer     NOT NULL,
  last_error       text,
  dead_lettered_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE realtime_dead_letter;
ALTER TABLE match_event DROP COLUMN recorded_by_uid;
ALTER TABLE referee DROP COLUMN deactivated_at;
