/**
 * The route table of the coordinator's HTTP API, declared once (docs/fleet-protocol.md,
 * "Coordinator HTTP API"): method, path, what the query and the body must be, what each answer
 * is, and the errors particular to the route. The router (http-api.ts) serves exactly these
 * routes, validates the query and body of each with the schemas named here and takes each role
 * from access.ts; the OpenAPI document (openapi.ts) is generated from the same table. The errors
 * every route shares (authentication, rate, Host, body type and size) are added by openapi.ts.
 */
import { z } from 'zod';
import { MAX_PROGRAM_OBJECT_BYTES } from '@tramway/shared/infra';
import type { ApiErrorCode } from './api-result.js';
import {
  APPLY_RESULT,
  APPROVED,
  AUDIT_EVENT,
  AUDIT_FUNCTION_ENTRY,
  AUDIT_FUNCTION_QUERY,
  AUDIT_HISTORY_QUERY,
  AUDIT_PLANS,
  AUDIT_PLANS_QUERY,
  AUDIT_STATE,
  AUDIT_STATE_QUERY,
  LOG_RANGE,
  MODULE_QUERY,
  DELETED,
  HEALTH,
  MODULE_OUTCOME,
  NODE,
  OPENAPI_SELF,
  PAGE_QUERY,
  PLAN_RESULT,
  POLICY_BODY,
  POLICY_DETAIL,
  POLICY_STATUS,
  POLICY_SUMMARY,
  PROGRAM_OBJECT,
  PROGRAM_PUSHED,
  READY,
  REASON_BODY,
  ROLLBACK_RESULT,
  ROLLOUT_REF,
  TAKEN_BACK,
  TOKEN,
  TOKEN_ISSUED,
  TOKEN_REQUEST,
  TOKEN_REVOKED,
  page,
} from './api-schemas.js';
import {
  CONSOLE_AT_QUERY,
  CONSOLE_EVENTS,
  CONSOLE_EVENTS_QUERY,
  CONSOLE_FLEET,
  CONSOLE_FLEET_QUERY,
  CONSOLE_FUNCTION,
  CONSOLE_NODE,
  CONSOLE_PAGE_AT_QUERY,
  CONSOLE_ROLLOUTS,
  CONSOLE_WHOAMI,
  EVENT_STREAM_QUERY,
} from './console-schemas.js';

/** The media type of a program object's bytes, in and out. */
export const PROGRAM_OBJECT_MEDIA_TYPE = 'application/octet-stream';

/** A success answer: JSON of `schema`, or text (the Prometheus exposition). */
export type ApiAnswerSpec =
  | { readonly description: string; readonly schema: z.ZodType }
  /** bytes (a program object), answered as the handler's Uint8Array */
  | { readonly description: string; readonly binary: true; readonly mediaType: string }
  | {
      readonly description: string;
      readonly text: true;
      /** default `text/plain` */
      readonly mediaType?: string;
    };

/** Errors particular to a route, by status: what causes them and the `code`s they carry. */
export type RouteErrors = Readonly<
  Partial<
    Record<
      '400' | '404' | '409' | '503',
      { readonly description: string; readonly codes: readonly ApiErrorCode[] }
    >
  >
>;

export interface ApiBodySpec {
  readonly schema: z.ZodType;
  /**
   * the body is bytes of this media type, not JSON (a program object): read up to `maxBytes`
   * (instead of the JSON limit), passed to the handler as a Uint8Array; `schema` is not applied
   */
  readonly binary?: {
    readonly mediaType: string;
    readonly maxBytes: number;
    readonly description: string;
  };
  readonly required: boolean;
  /** also accepted as `application/yaml` text (the router wraps it as `{ policy: text }`) */
  readonly yamlPolicy?: true;
  /**
   * a member the handler validates itself when it is present, answering with its own code (the
   * policy: InvalidPolicy, with the domain's messages, then `TRACING_POLICY_SCHEMA` too)
   */
  readonly delegate?: string;
}

export interface ApiRoute {
  readonly operationId: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** `{x}` for a path parameter */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  /** descriptions of the path parameters, by name (every `{x}` of `path`) */
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: z.ZodObject;
  readonly body?: ApiBodySpec;
  /** whether an admin may name someone with `x-tramway-on-behalf-of` (the writes) */
  readonly onBehalfOf?: true;
  readonly responses: Readonly<Record<string, ApiAnswerSpec>>;
  readonly errors?: RouteErrors;
}

const notFound = (what: string): RouteErrors => ({
  '404': { description: `no such ${what}`, codes: ['NotFound'] },
});

const policyErrors: RouteErrors = {
  '400': {
    description:
      'an invalid body (InvalidRequest), policy (InvalidPolicy: every problem with its path) or a plan over the size limit (PlanTooLarge)',
    codes: ['InvalidRequest', 'InvalidPolicy', 'PlanTooLarge'],
  },
};

const auditErrors: RouteErrors = {
  '400': { description: 'an invalid query: every problem listed', codes: ['InvalidRequest'] },
  '503': {
    description: 'this coordinator keeps no audit read model (NotReady)',
    codes: ['NotReady'],
  },
};

const DIGEST_PARAM = {
  digest: 'the sha256:<64 hex> digest tramway program push printed',
};

const programNotFound: RouteErrors = {
  '400': { description: 'an invalid digest', codes: ['InvalidRequest'] },
  '404': { description: 'no object with this digest is stored', codes: ['NotFound'] },
  '503': { description: 'this coordinator keeps no program store', codes: ['NotReady'] },
};

const programPush = <M extends 'POST' | 'PUT', O extends string>(method: M, operationId: O) =>
  ({
    operationId,
    method,
    path: '/v1/programs',
    summary: 'Store a compiled BPF object (CO-RE ELF), content addressed',
    description: `The body is the object's bytes (application/octet-stream, at most ${MAX_PROGRAM_OBJECT_BYTES} bytes). It is read as a BPF ELF before it is stored (an object that is not one is a 400 naming the byte offset of what is wrong), and stored under the sha256 of its bytes: the digest a policy's spec.program.object names. Pushing the same bytes again changes nothing (200). POST and PUT do the same.`,
    body: {
      schema: z.unknown(),
      required: true,
      binary: {
        mediaType: PROGRAM_OBJECT_MEDIA_TYPE,
        maxBytes: MAX_PROGRAM_OBJECT_BYTES,
        description: 'the compiled BPF object (ELF, e_machine EM_BPF)',
      },
    },
    responses: {
      '200': { description: 'already stored: its first record', schema: PROGRAM_PUSHED },
      '201': { description: 'stored', schema: PROGRAM_PUSHED },
    },
    errors: {
      '400': {
        description: 'an empty body, or bytes that are not a BPF object (InvalidProgramObject)',
        codes: ['InvalidRequest', 'InvalidProgramObject'],
      },
      '503': { description: 'this coordinator keeps no program store', codes: ['NotReady'] },
    },
  }) as const;

export const API_ROUTES = [
  programPush('POST', 'pushProgram'),
  programPush('PUT', 'putProgram'),
  {
    operationId: 'listPrograms',
    method: 'GET',
    path: '/v1/programs',
    summary: 'The stored program objects: digest, size, programs',
    query: PAGE_QUERY,
    responses: {
      '200': { description: 'a page of program objects, by digest', schema: page(PROGRAM_OBJECT) },
    },
    errors: {
      '503': { description: 'this coordinator keeps no program store', codes: ['NotReady'] },
    },
  },
  {
    operationId: 'getProgram',
    method: 'GET',
    path: '/v1/programs/{digest}',
    summary: 'A stored program object: its programs, sections, attach types, license, BTF',
    params: DIGEST_PARAM,
    responses: { '200': { description: 'the object', schema: PROGRAM_OBJECT } },
    errors: programNotFound,
  },
  {
    operationId: 'getProgramObject',
    method: 'GET',
    path: '/v1/programs/{digest}/object',
    summary: "A stored program object's bytes",
    description:
      'The bytes as stored; the reader checks their sha256 against the digest before loading anything from them.',
    params: DIGEST_PARAM,
    responses: {
      '200': {
        description: 'the compiled BPF object',
        binary: true,
        mediaType: PROGRAM_OBJECT_MEDIA_TYPE,
      },
    },
    errors: programNotFound,
  },
  {
    operationId: 'planPolicy',
    method: 'POST',
    path: '/v1/plan',
    summary: 'Dry run: each selected node plans the policy',
    body: { schema: POLICY_BODY, required: true, yamlPolicy: true, delegate: 'policy' },
    responses: { '200': { description: 'per-node plans', schema: PLAN_RESULT } },
    errors: policyErrors,
  },
  {
    operationId: 'listPolicies',
    method: 'GET',
    path: '/v1/policies',
    summary:
      'The policies in force or being deleted: name, version, state, when and by whom applied, latest rollout',
    query: PAGE_QUERY,
    responses: {
      '200': { description: 'a page of policies, by name', schema: page(POLICY_SUMMARY) },
    },
  },
  {
    operationId: 'applyPolicy',
    method: 'POST',
    path: '/v1/policies',
    summary: 'Apply a policy: a new version and its rollout',
    body: { schema: POLICY_BODY, required: true, yamlPolicy: true, delegate: 'policy' },
    onBehalfOf: true,
    responses: {
      '200': {
        description:
          'unchanged: the spec is the one in force (no version recorded, no rollout started)',
        schema: APPLY_RESULT,
      },
      '202': { description: 'a new version: its rollout started', schema: APPLY_RESULT },
    },
    errors: {
      '400': {
        description: `${policyErrors['400']!.description}, or a plan refused (PlanRefused: the reasons)`,
        codes: ['InvalidRequest', 'InvalidPolicy', 'PlanTooLarge', 'PlanRefused'],
      },
      '409': {
        description:
          'a rollout of the policy is running, paused or held (or its release after a delete)',
        codes: ['Conflict'],
      },
    },
  },
  {
    operationId: 'getPolicy',
    method: 'GET',
    path: '/v1/policies/{name}',
    summary: 'One policy in force (or being deleted): its spec, its latest changes and rollout',
    params: { name: 'the policy name (metadata.name)' },
    responses: { '200': { description: 'the policy', schema: POLICY_DETAIL } },
    errors: notFound('policy'),
  },
  {
    operationId: 'deletePolicy',
    method: 'DELETE',
    path: '/v1/policies/{name}',
    summary: 'Delete a policy: every node holding it releases it',
    description:
      'Records PolicyDeleted (the caller is the actor), then a release rollout takes the policy from every node holding it. The policy is listed as deleting until every node has released it, then no longer listed; the log keeps it. Applying the name again records the next version. Deleting a policy being deleted answers its release again.',
    params: { name: 'the policy name (metadata.name)' },
    body: { schema: REASON_BODY, required: false },
    onBehalfOf: true,
    responses: { '202': { description: 'deleted: its nodes are releasing it', schema: DELETED } },
    errors: {
      '400': { description: 'an invalid policy name or body', codes: ['InvalidRequest'] },
      '404': {
        description: 'no version of the policy is in force (never applied, removed, or deleted)',
        codes: ['NotFound'],
      },
      '409': {
        description: 'a rollout of the policy is running, paused or held',
        codes: ['Conflict'],
      },
    },
  },
  {
    operationId: 'policyStatus',
    method: 'GET',
    path: '/v1/policies/{name}/status',
    summary:
      "A policy's latest rollout (an apply, its rollback, or its release after a delete): its waves and each node's state",
    params: { name: 'the policy name (metadata.name)' },
    responses: { '200': { description: 'status', schema: POLICY_STATUS } },
    errors: notFound('policy'),
  },
  {
    operationId: 'rollbackPolicy',
    method: 'POST',
    path: '/v1/policies/{name}/rollback',
    summary: 'Roll a policy back to its version before, with a rollout of its own',
    params: { name: 'the policy name (metadata.name)' },
    body: { schema: REASON_BODY, required: false },
    onBehalfOf: true,
    responses: {
      '200': {
        description:
          'the rollback rollout started (it gives the nodes the previous version back, or releases the policy when there was none)',
        schema: ROLLBACK_RESULT,
      },
    },
    errors: {
      ...notFound('policy'),
      '409': {
        description:
          'nothing newer to roll back to (the latest rollout is a rollback, or the policy was deleted); the message names the versions',
        codes: ['Conflict'],
      },
    },
  },
  {
    operationId: 'resumeRollout',
    method: 'POST',
    path: '/v1/rollouts/{id}/resume',
    summary: 'Resume a held rollout',
    params: { id: 'the rollout id' },
    onBehalfOf: true,
    responses: { '200': { description: 'resumed', schema: ROLLOUT_REF } },
    errors: {
      ...notFound('rollout'),
      '409': { description: 'the rollout is neither held nor paused', codes: ['Conflict'] },
    },
  },
  {
    operationId: 'listNodes',
    method: 'GET',
    path: '/v1/nodes',
    summary: 'The registered nodes: admission, labels, liveness, generations',
    query: PAGE_QUERY,
    responses: { '200': { description: 'a page of nodes, by id', schema: page(NODE) } },
  },
  {
    operationId: 'loadModule',
    method: 'POST',
    path: '/v1/nodes/{id}/modules/{module}/load',
    summary: 'Ask a node to load a kernel module (simulated nodes)',
    params: { id: 'the node id', module: 'the module name ([A-Za-z0-9_.-])' },
    query: MODULE_QUERY,
    onBehalfOf: true,
    responses: { '200': { description: "the node's outcome", schema: MODULE_OUTCOME } },
    errors: {
      '400': { description: 'an invalid module name', codes: ['InvalidRequest'] },
      ...notFound('node'),
      '503': { description: 'the node did not answer', codes: ['AgentUnavailable'] },
    },
  },
  {
    operationId: 'unloadModule',
    method: 'POST',
    path: '/v1/nodes/{id}/modules/{module}/unload',
    summary: 'Ask a node to unload a kernel module (simulated nodes)',
    params: { id: 'the node id', module: 'the module name ([A-Za-z0-9_.-])' },
    query: MODULE_QUERY,
    onBehalfOf: true,
    responses: { '200': { description: "the node's outcome", schema: MODULE_OUTCOME } },
    errors: {
      '400': { description: 'an invalid module name', codes: ['InvalidRequest'] },
      ...notFound('node'),
      '503': { description: 'the node did not answer', codes: ['AgentUnavailable'] },
    },
  },
  {
    operationId: 'listTokens',
    method: 'GET',
    path: '/v1/tokens',
    summary: 'API tokens: names, roles, states (never a secret or a hash)',
    query: PAGE_QUERY,
    responses: { '200': { description: 'a page of tokens, by name', schema: page(TOKEN) } },
  },
  {
    operationId: 'createToken',
    method: 'POST',
    path: '/v1/tokens',
    summary: 'Issue a token; the answer is the only time the secret is shown',
    body: { schema: TOKEN_REQUEST, required: true },
    onBehalfOf: true,
    responses: { '201': { description: 'issued', schema: TOKEN_ISSUED } },
    errors: {
      '409': { description: 'an active token has this name', codes: ['Conflict'] },
    },
  },
  {
    operationId: 'revokeToken',
    method: 'DELETE',
    path: '/v1/tokens/{name}',
    summary: 'Revoke a token: it authenticates no one from now on',
    params: { name: 'the token name' },
    body: { schema: REASON_BODY, required: false },
    onBehalfOf: true,
    responses: { '200': { description: 'revoked (or already)', schema: TOKEN_REVOKED } },
    errors: notFound('token'),
  },
  {
    operationId: 'metrics',
    method: 'GET',
    path: '/metrics',
    summary: 'Prometheus metrics of the coordinator',
    description:
      'Text exposition format 0.0.4: the fleet, rollouts, policies, trampolines, the log, the HTTP API and the process (every series, its labels and their bounds: docs/metrics.md).',
    responses: { '200': { description: 'Prometheus text exposition', text: true } },
  },
  {
    operationId: 'approveNode',
    method: 'POST',
    path: '/v1/nodes/{id}/approve',
    summary: 'Admit a pending node',
    description: 'The caller is recorded as the approver.',
    params: { id: 'the node id' },
    body: { schema: REASON_BODY, required: false },
    onBehalfOf: true,
    responses: { '200': { description: 'approved', schema: APPROVED } },
    errors: {
      '400': { description: 'an invalid node id', codes: ['InvalidRequest'] },
      ...notFound('node'),
    },
  },
  {
    operationId: 'resetNode',
    method: 'POST',
    path: '/v1/nodes/{id}/reset',
    summary: 'Take a node back with a new epoch',
    description: 'Its next assignment wins over whatever it holds.',
    params: { id: 'the node id' },
    body: { schema: REASON_BODY, required: false },
    onBehalfOf: true,
    responses: { '200': { description: 'taken back', schema: TAKEN_BACK } },
    errors: {
      '400': { description: 'an invalid node id', codes: ['InvalidRequest'] },
      ...notFound('node'),
      '409': { description: 'the node is not admitted', codes: ['Conflict'] },
    },
  },
  {
    operationId: 'consoleWhoAmI',
    method: 'GET',
    path: '/v1/console/whoami',
    summary: "The credential's identity and role (the console shows operator buttons by it)",
    responses: { '200': { description: 'the caller', schema: CONSOLE_WHOAMI } },
  },
  {
    operationId: 'consoleFleet',
    method: 'GET',
    path: '/v1/console/fleet',
    summary: 'The fleet grid: nodes x policies, live or at a past position',
    description:
      'A page of registered nodes (by id), one cell per policy: attached, pending, rejected, trampoline-full or none; with `at`, the fleet as it stood at that log position.',
    query: CONSOLE_FLEET_QUERY,
    responses: { '200': { description: 'a page of the grid', schema: CONSOLE_FLEET } },
  },
  {
    operationId: 'consoleNode',
    method: 'GET',
    path: '/v1/console/nodes/{id}',
    summary: "A node's links, trampoline occupancy, modules, pending targets and drift",
    params: { id: 'the node id' },
    query: CONSOLE_AT_QUERY,
    responses: { '200': { description: 'the node', schema: CONSOLE_NODE } },
    errors: notFound('node'),
  },
  {
    operationId: 'consoleFunction',
    method: 'GET',
    path: '/v1/console/functions/{name}',
    summary: 'Which nodes and programs trace a kernel function',
    params: { name: 'the kernel function' },
    query: CONSOLE_PAGE_AT_QUERY,
    responses: { '200': { description: 'a page of links', schema: CONSOLE_FUNCTION } },
  },
  {
    operationId: 'consoleRollouts',
    method: 'GET',
    path: '/v1/console/rollouts',
    summary: 'The rollouts, newest first, with their waves, gate and pause, page by page',
    query: CONSOLE_PAGE_AT_QUERY,
    responses: { '200': { description: 'the rollouts', schema: CONSOLE_ROLLOUTS } },
  },
  {
    operationId: 'consoleEvents',
    method: 'GET',
    path: '/v1/console/events',
    summary: 'The log as a timeline, filtered, page by page',
    description:
      'Events after `after` in log order, at most `limit`; one call reads at most 50,000 events of the log, so `nextAfter` (where the next call starts) may come with fewer items than asked.',
    query: CONSOLE_EVENTS_QUERY,
    responses: { '200': { description: 'a page of events', schema: CONSOLE_EVENTS } },
  },
  {
    operationId: 'eventStream',
    method: 'GET',
    path: '/v1/events/stream',
    summary: 'The log live, as Server-Sent Events',
    description:
      'Each event: `id` = its log position, `event` = its type, `data` = the timeline event (JSON). Resumes after `Last-Event-ID` (or `after`); further back than 10,000 events it sends `event: reset` and goes on from the head. At most 4 streams per credential and 64 in all (429); a client whose unsent output passes 1 MiB is dropped.',
    query: EVENT_STREAM_QUERY,
    responses: {
      '200': { description: 'the stream', text: true, mediaType: 'text/event-stream' },
    },
  },
  {
    operationId: 'auditRange',
    method: 'GET',
    path: '/v1/audit/range',
    summary: 'The first and last fleet events of the log',
    responses: { '200': { description: 'the range of the log', schema: LOG_RANGE } },
    errors: auditErrors,
  },
  {
    operationId: 'auditState',
    method: 'GET',
    path: '/v1/audit/state',
    summary: 'The fleet (or one node) as it stood at a past instant or log position',
    description:
      'Exactly one of at and position. A time before the first event or a position past the last is a 404 OutOfRange, a node not known yet a 404 NotFound; the detail names the range the log covers (details.range, details.firstSeen).',
    query: AUDIT_STATE_QUERY,
    responses: { '200': { description: 'the fleet or the node then', schema: AUDIT_STATE } },
    errors: {
      ...auditErrors,
      '404': {
        description:
          'outside the log (OutOfRange), or the node not known at that point (NotFound): the range the log covers',
        codes: ['OutOfRange', 'NotFound'],
      },
    },
  },
  {
    operationId: 'auditHistory',
    method: 'GET',
    path: '/v1/audit/history',
    summary: 'Events of an actor, a policy or a program, filtered by node and type, paged',
    query: AUDIT_HISTORY_QUERY,
    responses: {
      '200': { description: 'a page of events, in log order', schema: page(AUDIT_EVENT) },
    },
    errors: auditErrors,
  },
  {
    operationId: 'auditFunction',
    method: 'GET',
    path: '/v1/audit/functions/{name}',
    summary: 'Who connected what to a kernel function on a node, and when, paged',
    params: { name: 'the kernel function' },
    query: AUDIT_FUNCTION_QUERY,
    responses: {
      '200': {
        description: 'a page of connections and releases',
        schema: page(AUDIT_FUNCTION_ENTRY),
      },
    },
    errors: auditErrors,
  },
  {
    operationId: 'auditPlans',
    method: 'GET',
    path: '/v1/audit/plans/{node}',
    summary: 'Which functions a node was told to trace, and when',
    params: { node: 'the node id' },
    query: AUDIT_PLANS_QUERY,
    responses: { '200': { description: 'plans and assignments per version', schema: AUDIT_PLANS } },
    errors: auditErrors,
  },
  {
    operationId: 'openapi',
    method: 'GET',
    path: '/openapi.json',
    summary: 'This document',
    responses: { '200': { description: 'the OpenAPI 3.1 document', schema: OPENAPI_SELF } },
  },
  {
    operationId: 'healthz',
    method: 'GET',
    path: '/healthz',
    summary: 'Liveness: the process serves HTTP (says nothing of the fleet)',
    responses: { '200': { description: 'alive', schema: HEALTH } },
  },
  {
    operationId: 'readyz',
    method: 'GET',
    path: '/readyz',
    summary: 'Readiness: the log is replayed and the bus answered (says nothing of the fleet)',
    responses: { '200': { description: 'ready', schema: READY } },
    errors: {
      '503': { description: 'starting, stopping, or the log failed', codes: ['NotReady'] },
    },
  },
] as const satisfies readonly ApiRoute[];

export type OperationId = (typeof API_ROUTES)[number]['operationId'];
