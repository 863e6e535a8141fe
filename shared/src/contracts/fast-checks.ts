/**
 * Hand-written validity checks for the most frequent events of a replay (LinkCreated and
 * LinkReleased are most of a fleet log). Each accepts exactly what its zod schema accepts
 * (test/unit/contracts/fast-checks.test.ts compares them on generated inputs); decode uses the
 * check first and asks zod only for the error of an event the check refuses.
 */
import type { FleetEventType } from '../domain/fleet.events.js';
import { ATTACH_TYPES } from '../domain/fleet.events.js';
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

const LINK_CREATED_KEYS = new Set([
  'nodeId',
  'linkId',
  'programId',
  'programName',
  'policy',
  'attachType',
  'connections',
  'observedGeneration',
]);
const linkCreatedV2: Check = (d) => {
  if (!isRecord(d) || !onlyKeys(d, LINK_CREATED_KEYS)) return false;
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
    connections.every(connectionV2) &&
    optional(d['observedGeneration'], kernelId)
  );
};

const LINK_RELEASED_KEYS = new Set(['nodeId', 'linkId', 'reason', 'observedGeneration']);
const linkReleasedV1: Check = (d) =>
  isRecord(d) &&
  onlyKeys(d, LINK_RELEASED_KEYS) &&
  name(d['nodeId']) &&
  kernelId(d['linkId']) &&
  text(d['reason']) &&
  optional(d['observedGeneration'], kernelId);

/** `FAST_CHECKS[type][version]`: true exactly when the zod schema of that version accepts. */
export const FAST_CHECKS: Partial<Record<FleetEventType, Readonly<Record<number, Check>>>> = {
  LinkCreated: { 2: linkCreatedV2 },
  LinkReleased: { 1: linkReleasedV1 },
};
