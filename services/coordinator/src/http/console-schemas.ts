/**
 * The zod schemas of the console's endpoints (console-api.ts; docs/fleet-protocol.md, "Console
 * read endpoints"): their queries and answers, for the route table (api-routes.ts) and so the
 * generated OpenAPI document. The handlers still check what a schema cannot say (a label
 * selector's syntax, a type list's names) and answer with the parameter named.
 */
import { z } from 'zod';
import { PAGE_QUERY } from './api-schemas.js';

const position = z.int().min(0);

/** `?at=`: a log position; the answer is the fleet as it stood there. */
const AT = position
  .optional()
  .meta({ description: 'a log position: the fleet as it stood there (time travel); absent: live' });

export const CONSOLE_AT_QUERY = z.object({ at: AT });

export const CONSOLE_FLEET_QUERY = PAGE_QUERY.extend({
  at: AT,
  label: z
    .string()
    .max(1000)
    .optional()
    .meta({ description: 'key=value or key, comma-separated: nodes with every one' }),
});

export const CONSOLE_PAGE_AT_QUERY = PAGE_QUERY.extend({ at: AT });

const names = (what: string) =>
  z
    .string()
    .max(12_800)
    .optional()
    .meta({ description: `${what}: up to 50 comma-separated names, events of any of them` });

export const CONSOLE_EVENTS_QUERY = z.object({
  after: position.optional().meta({ description: 'events after this log position (default 0)' }),
  limit: z.int().min(1).max(1000).optional().meta({ description: 'events at most (default 200)' }),
  type: names('event types'),
  node: names('node ids'),
  policy: names('policy names'),
  actor: names('actors'),
  function: z.string().max(253).optional().meta({ description: 'events that name this function' }),
});

export const EVENT_STREAM_QUERY = z.object({
  after: position
    .optional()
    .meta({ description: 'resume after this position (Last-Event-ID wins when sent)' }),
});

const atPosition = { position, head: position, live: z.boolean() };

export const CONSOLE_WHOAMI = z.object({
  actor: z.string(),
  role: z.enum(['viewer', 'operator', 'admin']),
  via: z.enum(['token', 'cert']),
  onBehalfOf: z.string().nullable(),
});

const CELL = z.object({
  state: z.enum(['attached', 'pending', 'rejected', 'trampoline-full', 'none']),
  attached: z.int(),
  pending: z.int(),
  rejected: z.int(),
});

export const CONSOLE_FLEET = z.looseObject({
  ...atPosition,
  recordedAt: z.string().nullable(),
  total: z.int(),
  policies: z.array(z.object({ name: z.string(), version: z.int() })),
  items: z.array(
    z.looseObject({
      nodeId: z.string(),
      labels: z.record(z.string(), z.string()),
      profile: z.string(),
      attachPath: z.string().nullable(),
      health: z.enum(['healthy', 'stale', 'drift', 'unapproved', 'unknown']),
      lastSeen: z.string().nullable(),
      busiestTrampoline: z.int(),
      cells: z.record(z.string(), CELL),
    }),
  ),
  nextCursor: z.string().nullable(),
});

export const CONSOLE_NODE = z.looseObject({
  ...atPosition,
  nodeId: z.string(),
  trampolineBudget: z.int(),
  trampolines: z.array(
    z.object({ function: z.string(), objId: z.int(), btfId: z.int(), links: z.int() }),
  ),
  links: z.array(z.looseObject({ linkId: z.int(), programName: z.string() })),
  pending: z.array(z.object({ policy: z.string(), function: z.string(), module: z.string() })),
});

export const CONSOLE_FUNCTION = z.looseObject({
  ...atPosition,
  function: z.string(),
  items: z.array(z.looseObject({ nodeId: z.string(), linkId: z.int(), programName: z.string() })),
  nextCursor: z.string().nullable(),
});

export const CONSOLE_ROLLOUTS = z.looseObject({
  ...atPosition,
  nextCursor: z.string().nullable(),
  items: z.array(
    z.looseObject({
      rolloutId: z.string(),
      policy: z.string(),
      status: z.string(),
      waves: z.array(z.looseObject({ index: z.int(), status: z.string() })),
    }),
  ),
});

export const CONSOLE_EVENT = z.object({
  position,
  type: z.string(),
  occurredAt: z.string(),
  recordedAt: z.string(),
  actor: z.string(),
  streamId: z.string(),
  nodeId: z.string().nullable(),
  policy: z.string().nullable(),
  rolloutId: z.string().nullable(),
  function: z.string().nullable(),
  summary: z.string(),
});

export const CONSOLE_EVENTS = z.object({
  items: z.array(CONSOLE_EVENT),
  head: position,
  scanned: z.int(),
  nextAfter: position.nullable(),
});
