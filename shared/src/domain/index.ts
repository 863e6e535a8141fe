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
  NodeReplanned,
  PolicyReconcileOutcome,
  PolicyApplied,
  PolicyRemoved,
  PolicyDeleted,
  RolloutKind,
  RolloutStarted,
  WaveStarted,
  WaveHeld,
  WaveCompleted,
  RolloutCompleted,
  RolloutRolledBack,
  AssignmentIssued,
  PlanRecorded,
  NodeMarkedStale,
  NodeMarkedAlive,
  NodeTakenBack,
  NodeAdmissionPending,
  NodeApproved,
  AccessTokenIssued,
  AccessTokenRevoked,
  ModuleActionRequested,
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
export { FleetStreams, belongsToStream, rolloutIdOf, streamOf } from './fleet-streams.js';
export * from './policy/policy.types.js';
export {
  validatePolicy,
  validatePolicySpec,
  formatPolicyProblems,
  POLICY_NAME,
  POLICY_NAME_MAX,
  PROGRAM_OBJECT_DIGEST,
  MAX_FUNC_ARGS,
  MAX_TARGETS,
  MAX_LABELS,
  MAX_ANNOTATIONS,
  MAX_ANNOTATION_VALUE,
  MAX_WAVES,
  LABEL_NAME_MAX,
  LABEL_PREFIX_MAX,
  LABEL_VALUE_MAX,
} from './policy/policy.validate.js';
export { selectNodes, expandWaves, waveTarget } from './policy/policy.select.js';
export type { SelectableNode } from './policy/policy.select.js';
export * from './plan/node-plan.types.js';
export { planNode, choosePath, planPathOf } from './plan/node-plan.js';
export { planChanges } from './plan/plan-check.js';
export type { PlanContext } from './plan/node-plan.js';
export { resolveFunctionPatterns } from './plan/pattern-resolution.js';
export type {
  PatternResolution,
  ProgramLoad,
  ResolveProgram,
  TargetVerdict,
} from './plan/pattern-resolution.js';
export { refusePlan } from './plan/plan-refusal.js';
export { PLAN_DIFF_NAMES, diffNodePlan, functionKey } from './plan/plan-diff.js';
export type { FunctionList, NodePlanDiff } from './plan/plan-diff.js';
export type { PlanRefusal } from './plan/plan-refusal.js';
export type { Decided, Decider, Decision, Rejection } from './decider.js';
export { accept, nothing, reject } from './decider.js';
export { COORDINATOR_ACTOR, judgeNode, reportedOutcome } from './rollout/node-verdict.js';
export type { NodeStanding } from './rollout/node-verdict.js';
export {
  decideRollout,
  evolveRollout,
  initialRolloutState,
  nodesOfWave,
  pauseEndsAt,
  rolloutDecider,
  rolloutRollbackNodes,
  UNDO_ROLLOUT,
} from './rollout/rollout.decider.js';
export type {
  AdvanceRollout,
  NodeVerdict,
  ResumeRollout,
  RollbackRollout,
  RolloutCommand,
  RolloutEvent,
  RolloutState,
  RolloutStatus,
  RolloutWave,
  StartRollout,
} from './rollout/rollout.decider.js';
export {
  currentSpec,
  isSpecInForce,
  decidePolicy,
  evolvePolicy,
  initialPolicyState,
  policyDecider,
} from './policy/policy.decider.js';
export { POLICY_HISTORY } from './policy/policy.decider.js';
export type {
  ApplyPolicy,
  DeletePolicy,
  PolicyChange,
  PolicyCommand,
  PolicyEvent,
  PolicyState,
  RevertPolicy,
  RunningRollout,
} from './policy/policy.decider.js';
export {
  assignmentDecider,
  assignmentMessage,
  decideAssignment,
  desiredLinkOf,
  evolveAssignment,
  initialAssignmentState,
  recordedPlanOf,
  withPolicy,
} from './assignment/assignment.decider.js';
export type {
  AssignPolicy,
  AssignmentCommand,
  AssignmentEvent,
  AssignmentState,
  RecordPlan,
  ReissueAssignment,
  TakeBackNode,
} from './assignment/assignment.decider.js';
export {
  AUTO_APPROVED_REASON,
  admissionDecider,
  decideAdmission,
  evolveAdmission,
  initialAdmissionState,
} from './admission/admission.decider.js';
export type {
  AdmissionCommand,
  AdmissionEvent,
  AdmissionState,
  AdmitNode,
  ApproveNode,
} from './admission/admission.decider.js';
export {
  decideLiveness,
  evolveLiveness,
  initialLivenessState,
  livenessDecider,
} from './liveness/liveness.decider.js';
export type { JudgeLiveness, LivenessEvent, LivenessState } from './liveness/liveness.decider.js';
export {
  decideDrift,
  driftDecider,
  evolveDrift,
  findDrift,
  initialDriftState,
} from './drift/drift.decider.js';
export type { ActualLink, DriftState, RecordDrift } from './drift/drift.decider.js';
export {
  ACCESS_ROLES,
  TOKEN_HASH,
  TOKEN_NAME,
  isAccessRole,
  roleAllows,
} from './access/access-role.js';
export type { AccessRole } from './access/access-role.js';
export {
  accessTokenDecider,
  decideAccessToken,
  evolveAccessToken,
  initialAccessTokenState,
} from './access/access-token.decider.js';
export type {
  AccessTokenCommand,
  AccessTokenEvent,
  AccessTokenState,
  IssueAccessToken,
  RevokeAccessToken,
} from './access/access-token.decider.js';
export {
  decideModuleRequest,
  evolveModuleRequest,
  initialModuleRequestState,
  moduleRequestDecider,
} from './module/module-request.decider.js';
export type {
  ModuleRequestEvent,
  ModuleRequestState,
  RecordModuleRequest,
} from './module/module-request.decider.js';
