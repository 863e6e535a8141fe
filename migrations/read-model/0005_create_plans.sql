-- Plans of the log (shared/src/projections/fleet-read-model.projection.ts): one row per
-- PlanRecorded (the plan a node answered at plan time, source 'recorded') and per NodeReplanned
-- (the agent planned again because its kernel changed, source 'replanned'). History: never
-- updated. `plan` is the RecordedPlan as JSON. Audit reads a node's plans per policy in order.
CREATE TABLE rm_plans_v1 (
  position       INTEGER PRIMARY KEY,
  node_id        TEXT    NOT NULL,
  policy         TEXT    NOT NULL,
  policy_version INTEGER NOT NULL,
  source         TEXT    NOT NULL,
  rollout_id     TEXT,
  generation     INTEGER,
  reason         TEXT,
  path           TEXT    NOT NULL,
  plan           TEXT    NOT NULL,
  at             TEXT    NOT NULL,
  actor          TEXT    NOT NULL
);
CREATE INDEX rm_plans_v1_node ON rm_plans_v1 (node_id, policy, position);
