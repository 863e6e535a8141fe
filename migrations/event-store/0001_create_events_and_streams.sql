-- The event log (STYLE.md §4 "Event log schema"). Append-only: rows are never updated or deleted,
-- so the rowid alias global_position only grows.
CREATE TABLE events (
  global_position INTEGER PRIMARY KEY,
  event_id        TEXT    NOT NULL,
  stream_id       TEXT    NOT NULL,
  stream_position INTEGER NOT NULL,
  type            TEXT    NOT NULL,
  schema_version  INTEGER NOT NULL,
  data            TEXT    NOT NULL,
  metadata        TEXT    NOT NULL,
  recorded_at     TEXT    NOT NULL
);

-- Idempotency: an event id is stored at most once in the whole log.
CREATE UNIQUE INDEX events_event_id ON events (event_id);

-- Optimistic concurrency backstop: one event per (stream, version).
CREATE UNIQUE INDEX events_stream_position ON events (stream_id, stream_position);

-- Current version of each stream, read and bumped by every append.
CREATE TABLE streams (
  stream_id       TEXT    PRIMARY KEY,
  stream_position INTEGER NOT NULL
) WITHOUT ROWID;
