-- Snapshots of the fleet projection (projections/fleet-snapshot.ts), cached by time travel so
-- that a later look at the past replays only the tail after the nearest one.
CREATE TABLE rm_snapshots_v1 (
  position    INTEGER PRIMARY KEY,
  recorded_ms INTEGER NOT NULL,
  version     INTEGER NOT NULL,
  snapshot    TEXT    NOT NULL
);
CREATE INDEX rm_snapshots_v1_recorded ON rm_snapshots_v1 (recorded_ms);
