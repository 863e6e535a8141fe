/**
 * An in-process coordinator as the integration tests run it: the given bus and store, the
 * test assignment key, the wall clock, a fast tick, drift checks off, and (with `http`) its API
 * on a free loopback port; and a caller of that API with a bearer token of the coordinator's
 * own issue.
 */
import type { EventStore, FleetBus } from '@tramway/shared/infra';
import type { AccessRole } from '@tramway/shared/domain';
import { createCoordinator } from '../../services/coordinator/src/app.js';
import type { Coordinator } from '../../services/coordinator/src/app.js';
import { authAs } from './api-tokens.js';
import { testAssignmentKeys } from './assignment-keys.js';

/** Starts a coordinator on `bus` and `store`; with `http`, its API listens on 127.0.0.1:0. */
export const startTestCoordinator = async ({
  bus,
  store,
  http = false,
}: {
  readonly bus: FleetBus;
  readonly store: EventStore;
  readonly http?: boolean;
}): Promise<Coordinator> => {
  const coordinator = createCoordinator({
    bus,
    store,
    clock: { now: () => new Date() },
    assignmentSigningKey: testAssignmentKeys().privateKey,
    ...(http ? { http: { host: '127.0.0.1', port: 0 } } : {}),
    options: { staleAfterMs: 60_000, tickMs: 25, driftIntervalMs: 0, requestTimeoutMs: 2000 },
  });
  await coordinator.start();
  return coordinator;
};

/**
 * `api(method, path, body?, who?)`: a JSON call to the coordinator `current()` returns, as the
 * holder of token `who` (default `ops`, with `role`); answers `{ status, body }` (body parsed).
 */
export const apiCaller =
  (current: () => Coordinator, role: AccessRole = 'operator') =>
  async (
    method: string,
    path: string,
    body?: unknown,
    who = 'ops',
  ): Promise<{ status: number; body: ReturnType<typeof JSON.parse> }> => {
    const coordinator = current();
    const res = await fetch(`${coordinator.url}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(await authAs(coordinator.core, who, role)),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as ReturnType<typeof JSON.parse> };
  };
