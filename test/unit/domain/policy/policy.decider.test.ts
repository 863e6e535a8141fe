import { describe, expect, it } from 'vitest';
import type {
  ApplyPolicy,
  DeletePolicy,
  JsonValue,
  PolicyEvent,
  RevertPolicy,
  RunningRollout,
} from '@tramway/shared/domain';
import { currentSpec, policyDecider } from '@tramway/shared/domain';
import type { Decided } from '@tramway/shared/domain';
import type { GivenEvent } from '../../../support/given-when-then.js';
import { deciderSpec } from '../../../support/given-when-then.js';

const sut = deciderSpec(policyDecider);

type Spec = { readonly [key: string]: JsonValue };

const V1: Spec = {
  program: { name: 'tcp_lat', attach: 'fentry', sleepable: false, reads: [] },
  targets: [{ pattern: 'tcp_*' }],
  strategy: 'auto',
  rollout: { waves: ['100%'], maxFailureRatio: 0, pauseSeconds: 0 },
};
const V2: Spec = { ...V1, targets: [{ pattern: 'tcp_send*' }, { pattern: 'nf_tables:nft_*' }] };

const apply = (
  spec: Spec,
  actor = 'user:alice',
  running: RunningRollout | null = null,
): ApplyPolicy => ({
  type: 'ApplyPolicy',
  data: { name: 'tcp', spec, running },
  metadata: { actor },
});

const revert = (previousVersion: number | null, rolloutVersion = 2): RevertPolicy => ({
  type: 'RevertPolicy',
  data: {
    name: 'tcp',
    rolloutId: `tcp-v${rolloutVersion}`,
    rolloutVersion,
    previousVersion,
    reason: 'v2 breaks tcp',
  },
  metadata: { actor: 'user:carol' },
});

const applied = (version: number, spec: Spec): GivenEvent => ({
  type: 'PolicyApplied',
  data: { name: 'tcp', version, spec },
});
const removed = (version: number): GivenEvent => ({
  type: 'PolicyRemoved',
  data: { name: 'tcp', version },
});

const decidedApplied = (
  version: number,
  spec: Spec,
  reason: string,
  id = `policy:tcp:v${version}`,
) =>
  ({
    id,
    event: { type: 'PolicyApplied', data: { name: 'tcp', version, spec, reason } },
  }) satisfies Decided<PolicyEvent>;

/** The same JSON with every object's keys in reverse order. */
const reversedKeys = (value: JsonValue): JsonValue => {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .reverse()
      .map((k) => [k, reversedKeys((value as Spec)[k]!)]),
  );
};

describe('policyDecider', () => {
  describe('ApplyPolicy', () => {
    it('records a new policy as version 1', () => {
      const state = sut
        .given([])
        .when(apply(V1))
        .then([decidedApplied(1, V1, 'new policy applied by user:alice')]);
      expect(state).toEqual({
        name: 'tcp',
        lastVersion: 1,
        versions: { '1': V1 },
        current: 1,
        reason: 'new policy applied by user:alice',
        history: [
          {
            change: 'applied',
            version: 1,
            at: '2026-12-01T10:00:01.000Z',
            by: 'user:alice',
            reason: 'new policy applied by user:alice',
          },
        ],
      });
    });

    it('records a changed spec as the next version', () => {
      const state = sut
        .given([applied(1, V1)])
        .when(apply(V2, 'user:bob'))
        .then([decidedApplied(2, V2, 'update of v1 by user:bob')]);
      expect(currentSpec(state)).toEqual(V2);
    });

    it('does nothing for the spec in force, whatever the order of its keys', () => {
      const reordered = reversedKeys(V1) as Spec;
      expect(Object.keys(reordered)).not.toEqual(Object.keys(V1));
      sut
        .given([applied(1, V1)])
        .when(apply(V1))
        .thenNothingHappened();
      sut
        .given([applied(1, V1)])
        .when(apply(reordered))
        .thenNothingHappened();
    });

    it('tells specs apart by the order of their arrays (targets, waves)', () => {
      const swapped: Spec = { ...V2, targets: [...(V2['targets'] as JsonValue[])].reverse() };
      sut
        .given([applied(1, V1), applied(2, V2)])
        .when(apply(swapped))
        .then([decidedApplied(3, swapped, 'update of v2 by user:alice')]);
    });

    it('refuses a new version while a rollout of the policy runs, is held or paused (Conflict)', () => {
      for (const status of ['running', 'held', 'paused'] as const) {
        sut
          .given([applied(1, V1)])
          .when(apply(V2, 'user:alice', { rolloutId: 'tcp-v1', status }))
          .thenRejects(
            'Conflict',
            `rollout tcp-v1 of policy tcp is ${status}: resume it, wait for it, or roll it back first`,
          );
      }
    });

    it('answers nothing for the spec in force even while its rollout runs (unchanged, no Conflict)', () => {
      for (const status of ['running', 'held', 'paused'] as const) {
        sut
          .given([applied(1, V1), applied(2, V2)])
          .when(apply(reversedKeys(V2) as Spec, 'user:alice', { rolloutId: 'tcp-v2', status }))
          .thenNothingHappened();
      }
    });

    it('never reuses a version: after a rollback to v1, the next spec is v3', () => {
      sut
        .given([applied(1, V1), applied(2, V2), applied(1, V1)])
        .when(apply(V2, 'user:bob'))
        .then([decidedApplied(3, V2, 'update of v1 by user:bob')]);
    });

    it('records a removed policy applied again as a new policy with the next version', () => {
      sut
        .given([applied(1, V1), removed(1)])
        .when(apply(V1))
        .then([decidedApplied(2, V1, 'new policy applied by user:alice')]);
    });
  });

  describe('RevertPolicy', () => {
    it('re-applies the version the rollout replaced, under an id of that rollback', () => {
      const state = sut
        .given([applied(1, V1), applied(2, V2)])
        .when(revert(1))
        .then([decidedApplied(1, V1, 'v2 breaks tcp', 'policy:tcp:v1:rollback:tcp-v2')]);
      expect(state).toMatchObject({ current: 1, lastVersion: 2 });
      expect(currentSpec(state)).toEqual(V1);
    });

    it('removes the policy when the rollout had no previous version', () => {
      const state = sut
        .given([applied(1, V1)])
        .when(revert(null, 1))
        .then([
          {
            id: 'policy:tcp:v1:removed',
            event: {
              type: 'PolicyRemoved',
              data: { name: 'tcp', version: 1, reason: 'v2 breaks tcp' },
            },
          },
        ]);
      expect(state).toMatchObject({ current: null, lastVersion: 1 });
      expect(currentSpec(state)).toBeUndefined();
    });

    it('refuses an unknown policy (NotFound)', () => {
      sut.given([]).when(revert(1)).thenRejects('NotFound', 'no policy tcp');
    });

    it('applies, updates and rolls back a policy named like an Object.prototype member', () => {
      const name = 'constructor';
      const cmd = {
        type: 'ApplyPolicy',
        data: { name, spec: V1, running: null },
        metadata: { actor: 'user:alice' },
      } satisfies ApplyPolicy;
      const given = (version: number, spec: Spec): GivenEvent => ({
        type: 'PolicyApplied',
        data: { name, version, spec },
      });
      sut
        .given([])
        .when(cmd)
        .then([
          {
            id: 'policy:constructor:v1',
            event: {
              type: 'PolicyApplied',
              data: { name, version: 1, spec: V1, reason: 'new policy applied by user:alice' },
            },
          },
        ]);
      const rollback = {
        ...revert(1),
        data: { ...revert(1).data, name, rolloutId: 'constructor-v2' },
      };
      const state = sut
        .given([given(1, V1), given(2, V2)])
        .when(rollback)
        .then([
          {
            id: 'policy:constructor:v1:rollback:constructor-v2',
            event: {
              type: 'PolicyApplied',
              data: { name, version: 1, spec: V1, reason: 'v2 breaks tcp' },
            },
          },
        ]);
      expect(currentSpec(state)).toEqual(V1);
      sut
        .given([])
        .when({ ...rollback, data: { ...rollback.data, previousVersion: 1 } })
        .thenRejects('NotFound', 'no policy constructor');
      sut
        .given([given(1, V1)])
        .when({ ...rollback, data: { ...rollback.data, previousVersion: 0 } })
        .thenRejects('NotFound', 'policy constructor has no version 0 to go back to');
    });

    it('refuses a previous version the policy never had (NotFound)', () => {
      sut
        .given([applied(1, V1), applied(2, V2)])
        .when(revert(5))
        .thenRejects('NotFound', 'policy tcp has no version 5 to go back to');
    });
  });

  describe('DeletePolicy', () => {
    const del = (
      running: RunningRollout | null = null,
      reason?: string,
      actor = 'user:dave',
    ): DeletePolicy => ({
      type: 'DeletePolicy',
      data: { name: 'tcp', running, ...(reason === undefined ? {} : { reason }) },
      metadata: { actor },
    });
    const deleted = (version: number): GivenEvent => ({
      type: 'PolicyDeleted',
      data: { name: 'tcp', version, reason: 'deleted by user:dave' },
      metadata: { actor: 'user:dave' },
    });

    it('records PolicyDeleted of the version in force, with the person who asked', () => {
      const state = sut
        .given([applied(1, V1), applied(2, V2)])
        .when(del())
        .then([
          {
            id: 'policy:tcp:v2:deleted',
            event: {
              type: 'PolicyDeleted',
              data: { name: 'tcp', version: 2, reason: 'deleted by user:dave' },
            },
          },
        ]);
      expect(state.current).toBeNull();
      expect(state.deleted).toBe(true);
      expect(state.lastVersion).toBe(2);
      expect(state.history?.at(-1)).toMatchObject({ change: 'deleted', version: 2 });
    });

    it("keeps the person's reason when one is given", () => {
      sut
        .given([applied(1, V1)])
        .when(del(null, 'replaced by tcp-v2'))
        .then([
          {
            id: 'policy:tcp:v1:deleted',
            event: {
              type: 'PolicyDeleted',
              data: { name: 'tcp', version: 1, reason: 'replaced by tcp-v2' },
            },
          },
        ]);
    });

    it('refuses a policy never applied (NotFound), and one removed by a rollback', () => {
      sut.given([]).when(del()).thenRejects('NotFound', 'no policy tcp');
      sut
        .given([applied(1, V1), removed(1)])
        .when(del())
        .thenRejects('NotFound', 'no policy tcp in force (v1 was removed by a rollback)');
    });

    it('changes nothing when deleted already (idempotent)', () => {
      sut
        .given([applied(1, V1), deleted(1)])
        .when(del({ rolloutId: 'tcp-v1-delete', status: 'running' }))
        .thenNothingHappened();
    });

    it('refuses while a rollout of the policy runs, is held or paused (Conflict)', () => {
      for (const status of ['running', 'held', 'paused'] as const) {
        sut
          .given([applied(1, V1)])
          .when(del({ rolloutId: 'tcp-v1', status }))
          .thenRejects(
            'Conflict',
            `rollout tcp-v1 of policy tcp is ${status}: wait for it, or roll it back, before deleting the policy`,
          );
      }
    });

    it('starts fresh at the next version when the name is applied again', () => {
      const state = sut
        .given([applied(1, V1), applied(2, V2), deleted(2)])
        .when(apply(V2, 'user:erin'))
        .then([decidedApplied(3, V2, 'new policy applied by user:erin')]);
      expect(state.deleted).toBeFalsy();
      expect(state.current).toBe(3);
    });

    it('refuses to apply while the deleted policy is still being released (Conflict)', () => {
      sut
        .given([applied(1, V1), deleted(1)])
        .when(apply(V1, 'user:erin', { rolloutId: 'tcp-v1-delete', status: 'running' }))
        .thenRejects(
          'Conflict',
          'policy tcp is being deleted (rollout tcp-v1-delete is running): wait for its nodes to release it, then apply again',
        );
    });
  });
});
