-- Up Migration
-- Competitions group matches; a match moves scheduled → live → finished, has up to one referee
-- per official role, records events from the watch and ends with one report.

ALTER TABLE referee ADD COLUMN firebase_uid text UNIQUE CHECK (char_length(firebase_uid) BETWEEN 1 AND 128);

CREATE TABLE competition (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text        NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 120),
  season     text        NOT NULL CHECK (season ~ '^[0-9]{4}(-[0-9]{2,4})?$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (name, season)
);

CREATE TYPE match_status AS ENUM ('scheduled', 'live', 'finished');

CREATE TABLE match (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  competition_id bigint       NOT NULL REFERENCES competition (id),
  home_team      text         NOT NULL CHECK (char_length(btrim(home_team)) BETWEEN 1 AND 120),
  away_team      text         NOT NULL CHECK (char_length(btrim(away_team)) BETWEEN 1 AND 120),
  venue          text         NOT NULL CHECK (char_length(btrim(venue)) BETWEEN 1 AND 200),
  kickoff_at     timestamptz  NOT NULL,
  status         match_status NOT NULL DEFAULT 'scheduled',
  started_at     timestamptz,
  finished_at    timestamptz,
  created_at     timestamptz  NOT NULL DEFAULT now(),
  updated_at     timestamptz  NOT NULL DEFAULT now(),
  CHECK (lower(home_team) <> lower(away_team)),
  -- The timestamps follow the status: started once live, finished once finished.
  CHECK ((status = 'scheduled') = (started_at IS NULL)),
  CHECK ((status = 'finished') = (finished_at IS NOT NULL)),
  CHECK (finished_at IS NULL OR finished_at >= started_at)
);
CREATE INDEX match_competition_kickoff_idx ON match (competition_id, kickoff_at);
CREATE INDEX match_kickoff_idx ON match (kickoff_at);
CREATE INDEX match_live_idx ON match (status) WHERE status = 'live';

-- A match's status only moves forward, one step at a time, whatever code writes it.
CREATE FUNCTION match_status_moves_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status <> OLD.status AND NOT (
       (OLD.status = 'scheduled' AND NEW.status = 'live')
    OR (OLD.status = 'live' AND NEW.status = 'finished')) THEN
    RAISE EXCEPTION 'match % cannot go from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'match_status_transition';
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER match_status_transition BEFORE UPDATE ON match
  FOR EACH ROW EXECUTE FUNCTION match_status_moves_forward();

CREATE TYPE official_role AS ENUM ('referee', 'assistant_1', 'assistant_2', 'fourth_official', 'var');

CREATE TABLE match_official (
  match_id   bigint        NOT NULL REFERENCES match (id) ON DELETE CASCADE,
  role       official_role NOT NULL,
  referee_id bigint        NOT NULL REFERENCES referee (id),
  PRIMARY KEY (match_id, role),
  UNIQUE (match_id, referee_id)
);
CREATE INDEX match_official_referee_idx ON match_official (referee_id);

CREATE TYPE match_event_kind AS ENUM ('goal', 'yellow_card', 'red_card', 'substitution', 'period_start', 'period_end');

CREATE TABLE match_event (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  match_id        bigint           NOT NULL REFERENCES match (id) ON DELETE CASCADE,
  kind            match_event_kind NOT NULL,
  period          smallint         NOT NULL CHECK (period BETWEEN 1 AND 5),
  -- Match clock: seconds since kick-off of the period's clock (90:00 + stoppage → 5400 + …).
  clock_seconds   integer          NOT NULL CHECK (clock_seconds BETWEEN 0 AND 10800),
  team            text             CHECK (team IN ('home', 'away')),
  player          text             CHECK (char_length(player) BETWEEN 1 AND 80),
  player_off      text             CHECK (char_length(player_off) BETWEEN 1 AND 80),
  recorded_by     bigint           REFERENCES referee (id),
  -- The watch sends one key per event; a retry with the same key must not record it twice.
  idempotency_key text             NOT NULL CHECK (char_length(idempotency_key) BETWEEN 8 AND 128),
  recorded_at     timestamptz      NOT NULL DEFAULT now(),
  UNIQUE (match_id, idempotency_key),
  CHECK (CASE kind
    WHEN 'period_start' THEN team IS NULL AND player IS NULL AND player_off IS NULL
    WHEN 'period_end'   THEN team IS NULL AND player IS NULL AND player_off IS NULL
    WHEN 'substitution' THEN team IS NOT NULL AND player IS NOT NULL AND player_off IS NOT NULL
    ELSE team IS NOT NULL AND player IS NOT NULL AND player_off IS NULL
  END)
);
CREATE INDEX match_event_timeline_idx ON match_event (match_id, period, clock_seconds, id);

CREATE TABLE match_report (
  match_id     bigint      PRIMARY KEY REFERENCES match (id) ON DELETE CASCADE,
  referee_id   bigint      NOT NULL REFERENCES referee (id),
  home_score   smallint    NOT NULL CHECK (home_score BETWEEN 0 AND 99),
  away_score   smallint    NOT NULL CHECK (away_score BETWEEN 0 AND 99),
  summary      text        NOT NULL CHECK (char_length(btrim(summary)) BETWEEN 1 AND 10000),
  incidents    text        CHECK (char_length(incidents) <= 10000),
  submitted_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE match_report;
DROP TABLE match_event;
DROP TYPE match_event_kind;
DROP TABLE match_official;
DROP TYPE official_role;
DROP TRIGGER match_status_transition ON match;
DROP FUNCTION match_status_moves_forward();
DROP TABLE match;
DROP TYPE match_status;
DROP TABLE competition;
ALTER TABLE referee DROP COLUMN firebase_uid;
