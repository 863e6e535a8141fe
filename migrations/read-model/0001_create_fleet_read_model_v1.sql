-- Fleet read model, version 1 (shared/src/projections/fleet-read-model.projection.ts).
-- A projection: disposable, rebuilt by replay from position 0. A change of shape is a new
-- migration creating *_v2 tables, never a data migration of these (STYLE.md §4).

-- One row per event of the log: the audit index (who, when, about what).
CREATE TABLE rm_events_v1 (
  position      INTEGER PRIMARY KEY,
  event_id      TEXT    NOT NULL,
  type          TEXT    NOT NULL,
  stream_id     TEXT    NOT NULL,
  actor         TEXT    NOT NULL,
  occurred_at   TEXT    NOT NULL,
  occurred_ms   INTEGER NOT NULL,
  recorded_at   TEXT    NOT NULL,
  node_id       TEXT,
  program_name  TEXT,
  policy_name   TEXT,
  rollout_id    TEXT,
  link_id       INTEGER,
  function      TEXT,
  summary       TEXT    NOT NULL
);
CREATE INDEX rm_events_v1_actor ON rm_events_v1 (actor, occurred_ms);
CREATE INDEX rm_events_v1_program ON rm_events_v1 (program_name, position) WHERE program_name IS NOT NULL;
CREATE INDEX rm_events_v1_policy ON rm_events_v1 (policy_name, position) WHERE policy_name IS NOT NULL;
CREATE INDEX rm_events_v1_rollout ON rm_events_v1 (rollout_id, position) WHERE rollout_id IS NOT NULL;
CREATE INDEX rm_events_v1_failed_function ON rm_events_v1 (node_id, function, position) WHERE function IS NOT NULL;

CREATE TABLE rm_nodes_v1 (
  node_id          TEXT PRIMARY KEY,
  registered       INTEGER NOT NULL DEFAULT 0,
  labels           TEXT    NOT NULL DEFAULT '{}',
  boot_id          TEXT    NOT NULL DEFAULT '',
  kernel_release   TEXT    NOT NULL DEFAULT '',
  profile          TEXT    NOT NULL DEFAULT 'none',
  attach_path      TEXT,
  btf_fingerprint  TEXT    NOT NULL DEFAULT '',
  registered_at    TEXT,
  booted_at        TEXT,
  updated_position INTEGER NOT NULL
);

CREATE TABLE rm_modules_v1 (
  node_id         TEXT    NOT NULL,
  module          TEXT    NOT NULL,
  btf_obj_id      INTEGER NOT NULL,
  loaded_at       TEXT    NOT NULL,
  loaded_position INTEGER NOT NULL,
  PRIMARY KEY (node_id, module)
);

CREATE TABLE rm_programs_v1 (
  node_id         TEXT    NOT NULL,
  program_id      INTEGER NOT NULL,
  name            TEXT    NOT NULL,
  attach_type     TEXT    NOT NULL,
  loaded_at       TEXT    NOT NULL,
  loaded_position INTEGER NOT NULL,
  PRIMARY KEY (node_id, program_id)
);

-- Links are history: a row per LinkCreated, closed (released_*) by LinkReleased or a reboot.
CREATE TABLE rm_links_v1 (
  created_position  INTEGER PRIMARY KEY,
  node_id           TEXT    NOT NULL,
  link_id           INTEGER NOT NULL,
  program_id        INTEGER NOT NULL,
  program_name      TEXT    NOT NULL,
  policy            TEXT,
  attach_type       TEXT    NOT NULL,
  connection_count  INTEGER NOT NULL,
  created_at        TEXT    NOT NULL,
  created_by        TEXT    NOT NULL,
  released_position INTEGER,
  released_at       TEXT,
  released_by       TEXT,
  release_reason    TEXT
);
CREATE INDEX rm_links_v1_open ON rm_links_v1 (node_id, link_id) WHERE released_position IS NULL;
CREATE INDEX rm_links_v1_program ON rm_links_v1 (program_name, created_position);
CREATE INDEX rm_links_v1_policy ON rm_links_v1 (policy, created_position) WHERE policy IS NOT NULL;

-- One row per connection of a link (kernel-multilink-spec.md §1.1): trampoline key (obj_id, btf_id).
CREATE TABLE rm_connections_v1 (
  created_position  INTEGER NOT NULL,
  idx               INTEGER NOT NULL,
  node_id           TEXT    NOT NULL,
  link_id           INTEGER NOT NULL,
  function          TEXT    NOT NULL,
  module            TEXT,
  obj_id            INTEGER NOT NULL,
  btf_id            INTEGER NOT NULL,
  cookie            TEXT    NOT NULL,
  released_position INTEGER,
  released_at       TEXT,
  released_by       TEXT,
  PRIMARY KEY (created_position, idx)
);
CREATE INDEX rm_connections_v1_function ON rm_connections_v1 (node_id, function, created_position);
CREATE INDEX rm_connections_v1_open ON rm_connections_v1 (node_id, link_id) WHERE released_position IS NULL;
CREATE INDEX rm_connections_v1_trampoline ON rm_connections_v1 (node_id, obj_id, btf_id) WHERE released_position IS NULL;

CREATE TABLE rm_policies_v1 (
  name             TEXT PRIMARY KEY,
  version          INTEGER NOT NULL,
  spec             TEXT    NOT NULL,
  applied_at       TEXT    NOT NULL,
  applied_by       TEXT    NOT NULL,
  applied_position INTEGER NOT NULL,
  removed_position INTEGER
);

CREATE TABLE rm_rollouts_v1 (
  rollout_id       TEXT PRIMARY KEY,
  policy           TEXT    NOT NULL,
  policy_version   INTEGER NOT NULL,
  wave_count       INTEGER NOT NULL,
  status           TEXT    NOT NULL,
  current_wave     INTEGER,
  started_at       TEXT    NOT NULL,
  started_by       TEXT    NOT NULL,
  reason           TEXT,
  updated_position INTEGER NOT NULL
);
CREATE INDEX rm_rollouts_v1_policy ON rm_rollouts_v1 (policy);

CREATE TABLE rm_assignments_v1 (
  node_id         TEXT PRIMARY KEY,
  generation      INTEGER NOT NULL,
  links           TEXT    NOT NULL,
  issued_at       TEXT    NOT NULL,
  issued_position INTEGER NOT NULL
);

-- Position of the last event applied, written in the same transaction as the rows it covers.
CREATE TABLE rm_checkpoints_v1 (
  name     TEXT PRIMARY KEY,
  position INTEGER NOT NULL
);
