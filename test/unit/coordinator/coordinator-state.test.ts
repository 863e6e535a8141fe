import { describe, expect, it } from 'vitest';
import type { FleetEvent, FleetRecordedEvent } from '@tramway/shared/domain';
import { streamOf } from '@tramway/shared/domain';
import {
  evolveCoordinator,
  initialCoordinatorState,
} from '../../../services/coordinator/src/rollout/coordinator.state.js';
import { createRoutes, dispatch } from '../../../services/coordinator/src/http/http-api.js';
import { requiredRole } from '../../../services/coordinator/src/http/access.js';
import { OPENAPI_DOCUMENT } from '../../../services/coordinator/src/http/openapi.js';
import type { FleetCoordinator } from '../../../services/coordinator/src/fleet-coordinator.js';

let position = 0;
const recorded = (
  event: FleetEvent,
  meta: { correlationId?: string; causationId?: string } = {},
): FleetRecordedEvent =>
  ({
    ...event,
    id: `e${++position}`,
    schemaVersion: 1,
    metadata: {
      occurredAt: `2026-11-25T10:00:${String(position % 60).padStart(2, '0')}Z`,
      actor: 'coordinator',
      ...meta,
    },
    streamId: streamOf(event),
    streamVersion: 1,
    globalPosition: position,
    recordedAt: '2026-11-25T10:00:00Z',
  }) as FleetRecordedEvent;

const fold = (events: FleetRecordedEvent[]) =>
  events.reduce(evolveCoordinator, initialCoordinatorState());

describe('evolveCoordinator', () => {
  it("keeps the request behind each rollout and the cause of each node's latest assignment", () => {
    // Given alice applies p in rollout r1, then carol rolls it back (PolicyRemoved in r1)
    const applied = recorded(
      { type: 'PolicyApplied', data: { name: 'p', version: 1, spec: { a: 1 } } },
      { correlationId: 'r1' },
    );
    const byAlice = { ...applied, metadata: { ...applied.metadata, actor: 'user:alice' } };
    const issued = recorded(
      {
        type: 'AssignmentIssued',
        data: { nodeId: 'n1', generation: 4, links: [], initiatedBy: 'user:alice' },
      },
      { correlationId: 'r1', causationId: byAlice.id },
    );
    const removed = recorded(
      { type: 'PolicyRemoved', data: { name: 'p', version: 1 } },
      { correlationId: 'r1' },
    );
    const byCarol = { ...removed, metadata: { ...removed.metadata, actor: 'user:carol' } };
    const repair = recorded({
      type: 'AssignmentIssued',
      data: { nodeId: 'n2', generation: 2, links: [] },
    });

    const afterApply = fold([byAlice, issued]);
    const state = fold([byAlice, issued, byCarol, repair]);

    expect(afterApply.rolloutCause).toEqual({ r1: { actor: 'user:alice', eventId: byAlice.id } });
    expect(state.rolloutCause).toEqual({ r1: { actor: 'user:carol', eventId: byCarol.id } });
    // a generation issued outside a rollout is no rollout's
    expect(state.rolloutGenerations).toEqual({ r1: { n1: 4 } });
  });

  it("keeps the version each rollout replaces, each policy's latest rollout, and each rollout's generations, for the policy's latest rollout only (bounded memory)", () => {
    const state = fold([
      recorded({ type: 'PolicyApplied', data: { name: 'p', version: 1, spec: { a: 1 } } }),
      recorded({
        type: 'RolloutStarted',
        data: { rolloutId: 'r1', policy: 'p', policyVersion: 1, waves: 1 },
      }),
      recorded({ type: 'PolicyApplied', data: { name: 'p', version: 2, spec: { a: 2 } } }),
      recorded({
        type: 'RolloutStarted',
        data: { rolloutId: 'r2', policy: 'p', policyVersion: 2, waves: 1 },
      }),
      recorded(
        { type: 'AssignmentIssued', data: { nodeId: 'n1', generation: 4, links: [] } },
        { correlationId: 'r2' },
      ),
      recorded({ type: 'AssignmentIssued', data: { nodeId: 'n2', generation: 9, links: [] } }),
      recorded({ type: 'PolicyRemoved', data: { name: 'p', version: 2 } }),
      recorded({ type: 'PolicyApplied', data: { name: 'p', version: 3, spec: { a: 3 } } }),
      recorded({
        type: 'RolloutStarted',
        data: { rolloutId: 'r3', policy: 'p', policyVersion: 3, waves: 1 },
      }),
    ]);
    // r1 and r2 ended before r3 started: what was kept for them is gone
    expect(state.rolloutGenerations).toEqual({});
    expect(state.rolloutPrevious).toEqual({ r3: null });
    const before = fold([
      recorded({ type: 'PolicyApplied', data: { name: 'p', version: 2, spec: { a: 2 } } }),
      recorded({
        type: 'RolloutStarted',
        data: { rolloutId: 'r2', policy: 'p', policyVersion: 2, waves: 1 },
      }),
      recorded(
        { type: 'AssignmentIssued', data: { nodeId: 'n1', generation: 4, links: [] } },
        { correlationId: 'r2' },
      ),
    ]);
    expect(before.rolloutGenerations).toEqual({ r2: { n1: 4 } });
    expect(state.currentVersion).toEqual({ p: 3 });
    expect(state.latestRollout).toEqual({ p: 'r3' });
    expect(state.events).toBe(9);
  });

  it('takes a deleted policy out of force, and keeps who deleted it as the cause of its release', () => {
    // (recorded in log order: each gets the next global position)
    const applied = recorded({
      type: 'PolicyApplied',
      data: { name: 'p', version: 2, spec: { a: 2 } },
    });
    const deleted = recorded(
      { type: 'PolicyDeleted', data: { name: 'p', version: 2, reason: 'gone' } },
      { correlationId: 'p-v2-delete' },
    );
    (deleted.metadata as { actor: string }).actor = 'user:dave';
    const state = fold([
      applied,
      deleted,
      recorded({
        type: 'RolloutStarted',
        data: {
          rolloutId: 'p-v2-delete',
          policy: 'p',
          policyVersion: 2,
          waves: 1,
          kind: 'release',
        },
      }),
    ]);
    expect(state.currentVersion).toEqual({});
    expect(state.previousVersion).toEqual({ p: null });
    expect(state.latestRollout).toEqual({ p: 'p-v2-delete' });
    expect(state.rolloutCause).toEqual({
      'p-v2-delete': { actor: 'user:dave', eventId: deleted.id },
    });
  });

  it('keeps the highest generation of a failed attach per node and policy, and ignores replays', () => {
    const failed = (g: number) =>
      recorded({
        type: 'LinkCreateFailed',
        data: {
          nodeId: 'n1',
          programId: 1,
          programName: 'x',
          policy: 'p',
          attachType: 'BPF_TRACE_FENTRY_MULTI',
          errno: 16,
          failingTarget: { function: 'f' },
          reason: 'busy',
          observedGeneration: g,
        },
      });
    const e3 = failed(3);
    const state = fold([e3, failed(2), e3]);
    expect(state.failures).toEqual({ n1: { p: 3 } });
    expect(state.events).toBe(2);
  });
});

describe('HTTP routes', () => {
  // Only the route table is read: the handlers are never called here.
  const routes = createRoutes({} as FleetCoordinator);

  it('serves exactly the routes the OpenAPI document lists', () => {
    const served = routes.map((r) => `${r.method} ${r.template}`).sort();
    const documented = Object.entries(OPENAPI_DOCUMENT.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(served).toEqual(documented);
  });

  it('answers a 404 problem for an unknown route, a 405 with Allow for a wrong method', async () => {
    expect(
      await dispatch(routes, { method: 'GET', path: '/v2/x', headers: {}, body: undefined }),
    ).toEqual({
      status: 404,
      body: {
        type: 'https://tramway.dev/problems/not-found',
        title: 'Not found',
        status: 404,
        detail: 'no route /v2/x',
        code: 'NotFound',
      },
    });
    const wrongMethod = await dispatch(routes, {
      method: 'DELETE',
      path: '/v1/nodes',
      headers: {},
      body: undefined,
    });
    expect(wrongMethod).toMatchObject({
      status: 405,
      headers: { allow: 'GET' },
      body: { code: 'MethodNotAllowed', details: { allowed: ['GET'] } },
    });
  });

  it('gives every route a role, and only the OpenAPI document and the probes none', () => {
    const open = routes.filter((r) => r.access === 'public').map((r) => r.template);
    expect(open).toEqual(['/openapi.json', '/healthz', '/readyz']);
    expect(routes.every((r) => r.access === requiredRole(r.method, r.template))).toBe(true);
  });
});
