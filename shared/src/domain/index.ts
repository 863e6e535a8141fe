export type {
  Event,
  JsonValue,
  Connection,
  FailingTarget,
  DriftItem,
  DesiredLink,
  NodeRegistered,
  NodeBooted,
  KernelProfileDetected,
  ModuleLoaded,
  ModuleUnloaded,
  ProgramLoaded,
  ProgramUnloaded,
  LinkCreated,
  LinkCreateFailed,
  LinkReleased,
  DriftFound,
  NodeReconciled,
  PolicyReconcileOutcome,
  PolicyApplied,
  PolicyRemoved,
  RolloutStarted,
  WaveStarted,
  WaveHeld,
  WaveCompleted,
  RolloutCompleted,
  RolloutRolledBack,
  AssignmentIssued,
  NodeMarkedStale,
  NodeMarkedAlive,
  NodeFact,
  CoordinatorDecision,
  FleetEvent,
  FleetEventType,
  FleetRecordedEvent,
} from './fleet.events.js';
export type {
  AttachPath,
  AttachType,
  KernelProfile,
  MultiLinkProfile,
} from '../lib/kernel-vocabulary.js';
export {
  ATTACH_PATHS,
  ATTACH_TYPES,
  KERNEL_PROFILES,
  MULTI_LINK_PROFILES,
} from '../lib/kernel-vocabulary.js';
export { FleetStreams, streamOf } from './fleet-streams.js';
export * from './policy/policy.types.js';
export {
  validatePolicy,
  validatePolicySpec,
  formatPolicyProblems,
  POLICY_NAME,
  POLICY_NAME_MAX,
  MAX_FUNC_ARGS,
} from './policy/policy.validate.js';
export { selectNodes, expandWaves, waveTarget } from './policy/policy.select.js';
export type { SelectableNode } from './policy/policy.select.js';
export * from './plan/node-plan.types.js';
export { planNode, choosePath } from './plan/node-plan.js';
export type { PlanContext } from './plan/node-plan.js';
export { refusePlan } from './plan/plan-refusal.js';
export type { PlanRefusal } from './plan/plan-refusal.js';
export {
  COORDINATOR_ACTOR,
  decideRollout,
  evolveRollout,
  initialRolloutState,
  rebuildRollout,
  rolloutWaves,
  rolloutWorkflow,
  runRolloutStep,
} from './rollout/rollout.workflow.js';
export type {
  AssignPolicy,
  NodeOutcome,
  NodeReported as RolloutNodeReported,
  ResumeRollout,
  RollbackRollout,
  RolloutEvent,
  RolloutInput,
  RolloutOutput,
  RolloutState,
  RolloutStatus,
  RolloutStep,
  StartRollout,
  Tick as RolloutTick,
  WaveState,
} from './rollout/rollout.workflow.js';
