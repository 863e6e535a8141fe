export type {
  AuditEvent,
  FunctionAction,
  FunctionHistoryEntry,
  ActorQuery,
} from './fleet-audit.js';
export {
  DEFAULT_AUDIT_LIMIT,
  functionHistory,
  programHistory,
  policyHistory,
  actorActivity,
  actors,
} from './fleet-audit.js';
export type { TimeTravelResult, TimeTravelOptions, SnapshotCache } from './time-travel.js';
export { fleetStateAt } from './time-travel.js';
export { onBehalfOf, withOnBehalfOf } from './on-behalf-of.js';
export type {
  PlanAudit,
  PlanAuditAssignment,
  PlanAuditPlan,
  PlanAuditVersion,
} from './plan-audit.js';
export { planHistory } from './plan-audit.js';
export type { AuditRefusal, AuditStateAnswer, LogPoint, LogRange } from './audit-range.js';
export { auditStateAt, logRange, nodeFirstSeen, outOfRange, rangeText } from './audit-range.js';
