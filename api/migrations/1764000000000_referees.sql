-- Up Migration
-- Referees are the platform's users; e-mail identifies one (case-insensitively) across apps.
CREATE TABLE referee (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text        NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 120),
  email         text        NOT NULL CHECK (char_length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  licence_level text        NOT NULL CHECK (licence_level IN ('grassroots', 'regional', 'national', 'international')),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX referee_email_key ON referee (lower(email));
CREATE INDEX referee_created_at_idx ON referee (created_at DESC, id DESC);

-- Down Migration
DROP TABLE referee;
