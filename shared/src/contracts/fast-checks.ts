/**
 * Hand-written validity checks for the frequent events of a replay (LinkCreated and LinkReleased
 * are most of a fleet log; programs, modules, drift, failures, assignments and rollout progress
 * most of the rest; recorded plans, one per node and policy version, each with every matched
 * function). Each accepts exactly what its zod schema accepts
 * (test/unit/contracts/fast-checks.test.ts compares them on generated inputs); decode uses the
 * check first and asks zod only for the error of an event the check refuses.
 */
import type { FleetEventType } from '../domain/fleet.events.js';
import { ATTACH_TYPES } from '../lib/kernel-vocabulary.js';
import { PLAN_PATHS, TARGET_STATUSES } from '../domain/plan/node-plan.types.js';
import {
  DECIMAL_PATTERN,
  FUNCTION_NAME_PATTERN,
  NAME_PATTERN,
  isU64,
} from './fleet-events.contract.js';

type Check = (data: unknown) => boolean;

const ATTACH = new Set<unknown>(ATTACH_TYPES);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const onlyKeys = (v: Record<string, unknown>, allowed: ReadonlySet<string>): boolean => {
  for (const key of Object.keys(v)) if (!allowed.has(key)) return false;
  return true;
};
const kernelId = (v: unknown): boolean =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const name = (v: unknown): boolean => typeof v === 'string' && NAME_PATTERN.test(v);
const text = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
const optional = (v: unknown, check: (x: unknown) => boolean): boolean =>
  v === undefined || check(v);
/** An optional field written with `exactOptional`: absent, or present and passing `check`. */
const exactOptional = (v: Record<string, unknown>, key: string, check: (x: unknown) => boolean) =>
  !(key in v) || check(v[key]);
/** Every element passes `check` (an index loop: a hole is `undefined` here, as zod sees it). */
const all = (v: readonly unknown[], check: (x: unknown) => boolean): boolean => {
  for (let i = 0; i < v.length; i++) if (!check(v[i])) return false;
  return true;
};
const positive = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const functionName = (v: unknown): boolean =>
  typeof v === 'string' && FUNCTION_NAME_PATTERN.test(v);
const cookie = (v: unknown): boolean =>
  typeof v === 'string' && DECIMAL_PATTERN.test(v) && (v.length < 20 || isU64(v));

const CONNECTION_KEYS = new Set(['function', 'module', 'objId', 'btfId', 'cookie']);
const connectionV2 = (c: unknown): boolean =>
  isRecord(c) &&
  onlyKeys(c, CONNECTION_KEYS) &&
  typeof c['function'] === 'string' &&
  FUNCTION_NAME_PATTERN.test(c['function']) &&
  optional(c['module'], name) &&
  kernelId(c['objId']) &&
  kernelId(c['btfId']) &&
  cookie(c['cookie']);

const LINK_CREATED_V2_KEYS = new Set([
  'nodeId',
  'linkId',
  'programId',
  'programName',
  'policy',
  'attachType',
  'connections',
  'observedGeneration',
]);
/** v3 adds an optional `reason` (a link adopted after an agent restart). */
const LINK_CREATED_V3_KEYS = new Set([...LINK_CREATED_V2_KEYS, 'reason']);
const linkCreatedFields = (d: Record<string, unknown>): boolean => {
  const connections = d['connections'];
  return (
    name(d['nodeId']) &&
    kernelId(d['linkId']) &&
    kernelId(d['programId']) &&
    text(d['programName']) &&
    optional(d['policy'], name) &&
    ATTACH.has(d['attachType']) &&
    Array.isArray(connections) &&
    connections.length > 0 &&
    all(connections, connectionV2) &&
    optional(d['observedGeneration'], kernelId)
  );
};
const linkCreatedV2: Check = (d) =>
  isRecord(d) && onlyKeys(d, LINK_CREATED_V2_KEYS) && linkCreatedFields(d);
const linkCreatedV3: Check = (d) =>
  isRecord(d) &&
  onlyKeys(d, LINK_CREATED_V3_KEYS) &&
  linkCreatedFields(d) &&
  optional(d['reason'], text);

const LINK_RELEASED_KEYS = new Set(['nodeId', 'linkId', 'reason', 'observedGeneration']);
const linkReleasedV1: Check = (d) =>
  isRecord(d) &&
  onlyKeys(d, LINK_RELEASED_KEYS) &&
  name(d['nodeId']) &&
  kernelId(d['linkId']) &&
  text(d['reason']) &&
  optional(d['observedGeneration'], kernelId);

const MODULE_LOADED_KEYS = new Set(['nodeId', 'module', 'btfObjId']);
const moduleLoadedV1: Check = (d) =>
  isRecord(d) &&
  onlyKeys(d, MODULE_LOADED_KEYS) &&
  name(d['nodeId']) &&
  name(d['module']) &&
  kernelId(d['btfObjId']);

const MODULE_UNLOADED_KEYS = new Set(['nodeId', 'module']);
const moduleUnloadedV1: Check = (d) =>
  isRecord(d) && onlyKeys(d, MODULE_UNLOADED_KEYS) && name(d['nodeId']) && name(d['module']);

const PROGRAM_LOADED_KEYS = new Set(['nodeId', 'programId', 'name', 'attachType']);
const programLoadedV1: Check = (d) =>
  isRecord(d) &&
  onlyKeys(d, PROGRAM_LOADED_KEYS) &&
  name(d['nodeId']) &&
  kernelId(d['programId']) &&
  text(d['name']) &&
  ATTACH.has(d['attachType']);

const PROGRAM_UNLOADED_KEYS = new Set(['nodeId', 'programId', 'name']);
const programUnloadedV1: Check = (d) =>
  isRecord(d) &&
  onlyKeys(d, PROGRAM_UNLOADED_KEYS) &&
  name(d['nodeId']) &&
  kernelId(d['programId']) &&
  text(d['name']);

const FAILING_TARGET_KEYS = new Set(['function', 'module', 'objId', 'btfId']);
const LINK_CREATE_FAILED_KEYS = new Set([
  'nodeId',
  'programId',
  'programName',
  'policy',
  'attachType',
  'errno',
  'failingTarget',
  'reason',
  'observedGeneration',
]);
const linkCreateFailedV1: Check = (d) => {
  if (!isRecord(d) || !onlyKeys(d, LINK_CREATE_FAILED_KEYS)) return false;
  const target = d['failingTarget'];
  return (
    name(d['nodeId']) &&
    kernelId(d['programId']) &&
    text(d['programName']) &&
    optional(d['policy'], name) &&
    ATTACH.has(d['attachType']) &&
    positive(d['errno']) &&
    isRecord(target) &&
    onlyKeys(target, FAILING_TARGET_KEYS) &&
    functionName(target['function']) &&
    optional(target['module'], name) &&
    optional(target['objId'], kernelId) &&
    optional(target['btfId'], kernelId) &&
    text(d['reason']) &&
    optional(d['observedGeneration'], kernelId)
  );
};

const DRIFT_KINDS = new Set<unknown>(['missing-link', 'unexpected-link', 'connection-mismatch']);
const DRIFT_ITEM_KEYS = new Set(['kind', 'linkId', 'function', 'detail']);
const driftItem = (v: unknown): boolean =>
  isRecord(v) &&
  onlyKeys(v, DRIFT_ITEM_KEYS) &&
  DRIFT_KINDS.has(v['kind']) &&
  optional(v['linkId'], kernelId) &&
  optional(v['function'], functionName) &&
  typeof v['detail'] === 'string';
const DRIFT_FOUND_KEYS = new Set(['nodeId', 'observedGeneration', 'items']);
const driftFoundV1: Check = (d) =>
  isRecord(d) &&
  onlyKeys(d, DRIFT_FOUND_KEYS) &&
  name(d['nodeId']) &&
  kernelId(d['observedGeneration']) &&
  Array.isArray(d['items']) &&
  all(d['items'], driftItem);

const DESIRED_LINK_KEYS = new Set([
  'policy',
  'policyVersion',
  'program',
  'attachType',
  'functions',
]);
const desiredLink = (v: unknown): boolean => {
  if (!isRecord(v) || !onlyKeys(v, DESIRED_LINK_KEYS)) return false;
  const functions = v['functions'];
  return (
    name(v['policy']) &&
    positive(v['policyVersion']) &&
    text(v['program']) &&
    ATTACH.has(v['attachType']) &&
    Array.isArray(functions) &&
    functions.length > 0 &&
    all(functions, text)
  );
};
const ASSIGNMENT_ISSUED_KEYS = new Set([
  'nodeId',
  'generation',
  'links',
  'reason',
  'initiatedBy',
  'epoch',
]);
const assignmentIssuedV1: Check = (d) =>
  isRecord(d) &&
  onlyKeys(d, ASSIGNMENT_ISSUED_KEYS) &&
  name(d['nodeId']) &&
  kernelId(d['generation']) &&
  Array.isArray(d['links']) &&
  all(d['links'], desiredLink) &&
  optional(d['reason'], text) &&
  optional(d['initiatedBy'], text) &&
  optional(d['epoch'], kernelId);

const ROLLOUT_STARTED_KEYS = new Set([
  'rolloutId',
  'policy',
  'policyVersion',
  'waves',
  'waveNodes',
  'previousVersion',
  'kind',
  'rollsBack',
]);
const waveNodes = (v: unknown): boolean =>
  v === undefined || (Array.isArray(v) && all(v, (w) => Array.isArray(w) && all(w, name)));
const rolloutStartedV1: Check = (d) =>
  isRecord(d) &&
  onlyKeys(d, ROLLOUT_STARTED_KEYS) &&
  name(d['rolloutId']) &&
  name(d['policy']) &&
  positive(d['policyVersion']) &&
  positive(d['waves']) &&
  waveNodes(d['waveNodes']) &&
  (d['previousVersion'] === undefined ||
    d['previousVersion'] === null ||
    positive(d['previousVersion'])) &&
  (d['kind'] === undefined ||
    d['kind'] === 'apply' ||
    d['kind'] === 'rollback' ||
    d['kind'] === 'release') &&
  optional(d['rollsBack'], name);

const WAVE_STARTED_KEYS = new Set(['rolloutId', 'wave', 'nodes']);
const waveStartedV1: Check = (d) =>
  isRecord(d) &&
  onlyKeys(d, WAVE_STARTED_KEYS) &&
  name(d['rolloutId']) &&
  kernelId(d['wave']) &&
  Array.isArray(d['nodes']) &&
  all(d['nodes'], name);

const WAVE_COMPLETED_KEYS = new Set(['rolloutId', 'wave', 'succeeded', 'failed', 'reason']);
const waveCompletedV1: Check = (d) =>
  isRecord(d) &&
  onlyKeys(d, WAVE_COMPLETED_KEYS) &&
  name(d['rolloutId']) &&
  kernelId(d['wave']) &&
  kernelId(d['succeeded']) &&
  kernelId(d['failed']) &&
  optional(d['reason'], text);

const ROLLOUT_COMPLETED_KEYS = new Set(['rolloutId']);
const rolloutCompletedV1: Check = (d) =>
  isRecord(d) && onlyKeys(d, ROLLOUT_COMPLETED_KEYS) && name(d['rolloutId']);

const PLAN_PATH = new Set<unknown>(PLAN_PATHS);
const TARGET_STATUS = new Set<unknown>(TARGET_STATUSES);
const int = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v);
const PLANNED_TARGET_KEYS = new Set([
  'function',
  'module',
  'objId',
  'btfId',
  'cookie',
  'status',
  'errno',
  'reason',
  'headroom',
]);
const plannedTarget = (t: unknown): boolean =>
  isRecord(t) &&
  onlyKeys(t, PLANNED_TARGET_KEYS) &&
  functionName(t['function']) &&
  exactOptional(t, 'module', text) &&
  exactOptional(t, 'objId', kernelId) &&
  exactOptional(t, 'btfId', kernelId) &&
  cookie(t['cookie']) &&
  TARGET_STATUS.has(t['status']) &&
  exactOptional(t, 'errno', text) &&
  exactOptional(t, 'reason', (x) => typeof x === 'string') &&
  exactOptional(t, 'headroom', int);
const UNMATCHED_KEYS = new Set(['pattern', 'reason']);
const unmatchedPattern = (u: unknown): boolean =>
  isRecord(u) &&
  onlyKeys(u, UNMATCHED_KEYS) &&
  typeof u['pattern'] === 'string' &&
  typeof u['reason'] === 'string';
const RECORDED_PLAN_KEYS = new Set(['path', 'targets', 'unmatched']);
const recordedPlan = (p: unknown): boolean =>
  isRecord(p) &&
  onlyKeys(p, RECORDED_PLAN_KEYS) &&
  PLAN_PATH.has(p['path']) &&
  Array.isArray(p['targets']) &&
  all(p['targets'], plannedTarget) &&
  Array.isArray(p['unmatched']) &&
  all(p['unmatched'], unmatchedPattern);

const PLAN_RECORDED_KEYS = new Set(['nodeId', 'policy', 'policyVersion', 'rolloutId', 'plan']);
const planRecordedV1: Check = (d) =>
  isRecord(d) &&
  onlyKeys(d, PLAN_RECORDED_KEYS) &&
  name(d['nodeId']) &&
  name(d['policy']) &&
  positive(d['policyVersion']) &&
  optional(d['rolloutId'], name) &&
  recordedPlan(d['plan']);

const NODE_REPLANNED_KEYS = new Set([
  'nodeId',
  'generation',
  'policy',
  'policyVersion',
  'reason',
  'plan',
]);
const nodeReplannedV1: Check = (d) =>
  isRecord(d) &&
  onlyKeys(d, NODE_REPLANNED_KEYS) &&
  name(d['nodeId']) &&
  kernelId(d['generation']) &&
  name(d['policy']) &&
  positive(d['policyVersion']) &&
  text(d['reason']) &&
  recordedPlan(d['plan']);

/** `FAST_CHECKS[type][version]`: true exactly when the zod schema of that version accepts. */
export const FAST_CHECKS: Partial<Record<FleetEventType, Readonly<Record<number, Check>>>> = {
  LinkCreated: { 2: linkCreatedV2, 3: linkCreatedV3 },
  LinkReleased: { 1: linkReleasedV1 },
  LinkCreateFailed: { 1: linkCreateFailedV1 },
  ModuleLoaded: { 1: moduleLoadedV1 },
  ModuleUnloaded: { 1: moduleUnloadedV1 },
  ProgramLoaded: { 1: programLoadedV1 },
  ProgramUnloaded: { 1: programUnloadedV1 },
  DriftFound: { 1: driftFoundV1 },
  AssignmentIssued: { 1: assignmentIssuedV1 },
  RolloutStarted: { 1: rolloutStartedV1 },
  WaveStarted: { 1: waveStartedV1 },
  WaveCompleted: { 1: waveCompletedV1 },
  RolloutCompleted: { 1: rolloutCompletedV1 },
  PlanRecorded: { 1: planRecordedV1 },
  NodeReplanned: { 1: nodeReplannedV1 },
};
