/** Row types of the fleet read model tables (migrations/read-model/0001_create_fleet_read_model_v1.sql). */
export interface ReadModelDb {
  rm_events_v1: {
    position: number;
    event_id: string;
    type: string;
    stream_id: string;
    actor: string;
    occurred_at: string;
    occurred_ms: number;
    recorded_at: string;
    node_id: string | null;
    program_name: string | null;
    policy_name: string | null;
    rollout_id: string | null;
    link_id: number | null;
    function: string | null;
    summary: string;
  };
  rm_nodes_v1: {
    node_id: string;
    registered: number;
    labels: string;
    boot_id: string;
    kernel_release: string;
    profile: string;
    attach_path: string | null;
    btf_fingerprint: string;
    registered_at: string | null;
    booted_at: string | null;
    updated_position: number;
  };
  rm_modules_v1: {
    node_id: string;
    module: string;
    btf_obj_id: number;
    loaded_at: string;
    loaded_position: number;
  };
  rm_programs_v1: {
    node_id: string;
    program_id: number;
    name: string;
    attach_type: string;
    loaded_at: string;
    loaded_position: number;
  };
  rm_links_v1: {
    created_position: number;
    node_id: string;
    link_id: number;
    program_id: number;
    program_name: string;
    policy: string | null;
    attach_type: string;
    connection_count: number;
    created_at: string;
    created_by: string;
    released_position: number | null;
    released_at: string | null;
    released_by: string | null;
    release_reason: string | null;
  };
  rm_connections_v1: {
    created_position: number;
    idx: number;
    node_id: string;
    link_id: number;
    function: string;
    module: string | null;
    obj_id: number;
    btf_id: number;
    cookie: string;
    released_position: number | null;
    released_at: string | null;
    released_by: string | null;
  };
  rm_policies_v1: {
    name: string;
    version: number;
    spec: string;
    applied_at: string;
    applied_by: string;
    applied_position: number;
    removed_position: number | null;
  };
  rm_rollouts_v1: {
    rollout_id: string;
    policy: string;
    policy_version: number;
    wave_count: number;
    status: string;
    current_wave: number | null;
    started_at: string;
    started_by: string;
    reason: string | null;
    updated_position: number;
  };
  rm_assignments_v1: {
    node_id: string;
    generation: number;
    links: string;
    issued_at: string;
    issued_position: number;
  };
  rm_plans_v1: {
    position: number;
    node_id: string;
    policy: string;
    policy_version: number;
    source: 'recorded' | 'replanned';
    rollout_id: string | null;
    generation: number | null;
    reason: string | null;
    path: string;
    plan: string;
    at: string;
    actor: string;
  };
  rm_checkpoints_v1: { name: string; position: number };
  rm_snapshots_v1: { position: number; recorded_ms: number; version: number; snapshot: string };
}
