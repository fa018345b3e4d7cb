-- Up Migration
-- Changes apps listen to (match status, match events) are queued here in the same transaction that
-- makes them, and copied to Firestore by the API's mirror. Postgres stays the source of truth: when
-- Firestore is down the rows wait, and the mirror catches up in order when it is back.
CREATE TABLE realtime_outbox (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  document_path text        NOT NULL CHECK (document_path ~ '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$'),
  payload       jsonb       NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
  enqueued_at   timestamptz NOT NULL DEFAULT now(),
  attempts      integer     NOT NULL DEFAULT 0,
  last_error    text
);

-- Down Migration
DROP TABLE realtime_outbox;
