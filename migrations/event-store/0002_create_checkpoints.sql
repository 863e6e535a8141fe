-- Positions of async processors (projections, outbox), written in the same transaction as their
-- effects (STYLE.md §4 "Projections").
CREATE TABLE checkpoints (
  processor_id TEXT    PRIMARY KEY,
  position     INTEGER NOT NULL
) WITHOUT ROWID;
