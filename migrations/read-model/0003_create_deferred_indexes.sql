-- Audit-only indexes are dropped while the read model is rebuilt and created again at the end;
-- their definitions wait here meanwhile, so that a crash mid-rebuild cannot lose them (the next
-- open creates them again). shared/src/infra/read-model/fleet-read-model.ts.
CREATE TABLE rm_deferred_indexes_v1 (
  name TEXT PRIMARY KEY,
  sql  TEXT NOT NULL
);
