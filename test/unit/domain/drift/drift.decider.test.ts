import { describe, expect, it } from 'vitest';
import type { ActualLink, DesiredLink, DriftItem, RecordDrift } from '@tramway/shared/domain';
import { FleetStreams, driftDecider, findDrift } from '@tramway/shared/domain';
import type { GivenEvent } from '../../../support/given-when-then.js';
import { deciderSpec } from '../../../support/given-when-then.js';

const sut = deciderSpec(driftDecider);

const NODE = 'node-a';

const desired = (policy: string, policyVersion: number): DesiredLink => ({
  policy,
  policyVersion,
  program: `${policy}_prog`,
  attachType: 'BPF_TRACE_FENTRY_MULTI',
  functions: [`${policy}_*`],
});
const actual = (
  linkId: number,
  policy: string | null,
  policyVersion: number | null,
): ActualLink => ({
  linkId,
  policy,
  policyVersion,
});

const drift = (input: {
  desired?: readonly DesiredLink[];
  generation?: number;
  failed?: readonly string[];
  logged?: readonly number[];
  observed?: number;
  links?: readonly ActualLink[];
}): DriftItem[] =>
  findDrift({
    desired: input.desired ?? [],
    generation: input.generation ?? 3,
    failedPolicies: new Set(input.failed ?? []),
    loggedLinkIds: input.logged ?? [],
    actual: { observedGeneration: input.observed ?? 3, links: input.links ?? [] },
  });

// items as findDrift words them
const missingPolicy = (policy: string, version: number): DriftItem => ({
  kind: 'missing-link',
  detail: `policy ${policy} v${version} is assigned but no link of it is held`,
});
const unexpected = (linkId: number, policy: string | null, version: number | null): DriftItem => ({
  kind: 'unexpected-link',
  linkId,
  detail: `link ${linkId} (policy ${policy ?? 'none'} v${version ?? '-'}) is held but not assigned`,
});
const missingLogged = (linkId: number): DriftItem => ({
  kind: 'missing-link',
  linkId,
  detail: `link ${linkId} is in the log but not in the kernel`,
});

describe('findDrift', () => {
  it('finds nothing before the node observed its generation (it is converging)', () => {
    expect(drift({ desired: [desired('tcp', 2)], generation: 4, observed: 3 })).toEqual([]);
  });

  it('finds nothing when the node holds exactly what it is assigned', () => {
    expect(
      drift({
        desired: [desired('tcp', 2), desired('udp', 1)],
        logged: [7, 8],
        links: [actual(7, 'tcp', 2), actual(8, 'udp', 1)],
      }),
    ).toEqual([]);
  });

  it('finds an assigned version not held, a link held but not assigned, and a logged link gone', () => {
    expect(
      drift({
        desired: [desired('tcp', 2)],
        logged: [5, 7],
        links: [actual(7, 'tcp', 1), actual(9, null, null)],
      }),
    ).toEqual([
      missingPolicy('tcp', 2),
      unexpected(7, 'tcp', 1),
      unexpected(9, null, null),
      missingLogged(5),
    ]);
  });

  it('leaves a policy whose attach failed to the failure record (the previous version kept)', () => {
    expect(
      drift({
        desired: [desired('tcp', 2)],
        failed: ['tcp'],
        logged: [7],
        links: [actual(7, 'tcp', 1)],
      }),
    ).toEqual([]);
  });
});

const record = (
  observedGeneration: number,
  items: readonly DriftItem[],
  generation = observedGeneration,
): RecordDrift => ({
  type: 'RecordDrift',
  data: { nodeId: NODE, generation, observedGeneration, items },
});

const driftFound = (
  observedGeneration: number,
  items: readonly DriftItem[],
  streamId?: string,
): GivenEvent => ({
  type: 'DriftFound',
  data: { nodeId: NODE, observedGeneration, items },
  ...(streamId === undefined ? {} : { streamId, id: `drift:${NODE}:g${observedGeneration}` }),
});

const decidedDrift = (
  generation: number,
  observedGeneration: number,
  items: readonly DriftItem[],
) => ({
  id: `drift:${NODE}:g${generation}`,
  event: {
    type: 'DriftFound' as const,
    data: { nodeId: NODE, observedGeneration, items },
  },
});

describe('driftDecider', () => {
  it('records what was found, under an id of the generation judged', () => {
    const items = [missingPolicy('tcp', 2), unexpected(9, null, null)];
    const state = sut
      .given([])
      .when(record(3, items))
      .then([decidedDrift(3, 3, items)]);
    expect(state).toStrictEqual({ items, observedGeneration: 3, eventId: `drift:${NODE}:g3` });
  });

  it('records nothing when nothing was found', () => {
    sut.given([]).when(record(3, [])).thenNothingHappened();
  });

  it('records once per observed generation: the repair gives the node a new one', () => {
    sut
      .given([driftFound(3, [missingPolicy('tcp', 2)])])
      .when(record(3, [missingPolicy('tcp', 2), unexpected(9, null, null)]))
      .thenNothingHappened();
  });

  it('does not find again a log-side item already recorded (a link the log still holds)', () => {
    sut
      .given([driftFound(3, [missingLogged(5)])])
      .when(record(4, [missingLogged(5)]))
      .thenNothingHappened();
  });

  it('records a new item next to known ones, with every item found', () => {
    const items = [missingLogged(5), unexpected(9, null, null)];
    sut
      .given([driftFound(3, [missingLogged(5)])])
      .when(record(4, items))
      .then([decidedDrift(4, 4, items)]);
  });

  it('finds an item without a link id again at the next observed generation', () => {
    const items = [missingPolicy('tcp', 2)];
    sut
      .given([driftFound(3, items)])
      .when(record(4, items))
      .then([decidedDrift(4, 4, items)]);
  });

  it('counts the drift an older coordinator recorded in the node stream', () => {
    const legacy = driftFound(3, [missingLogged(5)], FleetStreams.node(NODE));
    // (its id is the cause of a repair still to make)
    expect(sut.given([legacy]).state.eventId).toBe(`drift:${NODE}:g3`);
    sut
      .given([legacy])
      .when(record(3, [missingPolicy('tcp', 2)]))
      .thenNothingHappened();
    sut
      .given([legacy])
      .when(record(4, [missingLogged(5)]))
      .thenNothingHappened();
    sut
      .given([legacy])
      .when(record(4, [missingLogged(5), missingLogged(6)]))
      .then([decidedDrift(4, 4, [missingLogged(5), missingLogged(6)])]);
  });
});
