import { describe, expect, it } from 'vitest';
import type { FleetRecordedEvent, RecordedPlan } from '@tramway/shared/domain';
import { decodeFleetEventOrThrow } from '@tramway/shared/contracts';
import {
  READ_MODEL_TABLES,
  foldFleet,
  initialFleetState,
  toRowChanges,
} from '@tramway/shared/projections';
import type { LoggedFact } from '../../fixtures/event-logs/fleet-log-builder.js';
import { recordFacts } from '../../fixtures/event-logs/fleet-log-builder.js';

const decodeAll = (facts: readonly LoggedFact[]): FleetRecordedEvent[] =>
  recordFacts(facts).map(decodeFleetEventOrThrow);

const planOf = (functions: readonly string[]): RecordedPlan => ({
  path: 'tracing-multi',
  targets: functions.map((fn, i) => ({
    function: fn,
    objId: 1,
    btfId: 100 + i,
    cookie: '0',
    status: 'attach' as const,
    headroom: 38,
  })),
  unmatched: [],
});

const recorded = (version: number, plan: RecordedPlan): LoggedFact => ({
  actor: 'coordinator',
  event: {
    type: 'PlanRecorded',
    data: { nodeId: 'web-1', policy: 'tcp-latency', policyVersion: version, rolloutId: 'r1', plan },
  },
});

const replanned = (generation: number, reason: string, plan: RecordedPlan): LoggedFact => ({
  actor: 'agent:web-1',
  event: {
    type: 'NodeReplanned',
    data: { nodeId: 'web-1', generation, policy: 'tcp-latency', policyVersion: 1, reason, plan },
  },
});

describe('Plans in the fleet projection', () => {
  it('keeps the latest plan per node and policy, recorded or replanned, with why', () => {
    // Given a recorded plan, then the agent's own plan after a module load
    const first = planOf(['tcp_sendmsg']);
    const second = planOf(['tcp_sendmsg', 'nft_do_chain']);
    const onlyRecorded = foldFleet(initialFleetState(), decodeAll([recorded(1, first)]));
    const both = foldFleet(
      initialFleetState(),
      decodeAll([recorded(1, first), replanned(2, 'module nf_tables loaded', second)]),
    );

    // Then the node shows the recorded one, then the replanned one with its reason
    expect(onlyRecorded.nodes['web-1']?.plans?.['tcp-latency']).toMatchObject({
      policyVersion: 1,
      source: 'recorded',
      plan: first,
      by: 'coordinator',
      rolloutId: 'r1',
      generation: null,
      reason: null,
    });
    expect(both.nodes['web-1']?.plans?.['tcp-latency']).toMatchObject({
      source: 'replanned',
      plan: second,
      by: 'agent:web-1',
      rolloutId: null,
      generation: 2,
      reason: 'module nf_tables loaded',
    });
  });

  it('writes one plan row per PlanRecorded and NodeReplanned', () => {
    const [rec, rep] = decodeAll([
      recorded(1, planOf(['tcp_sendmsg'])),
      replanned(2, 'vmlinux BTF object id 1 -> 7 after reboot', planOf(['tcp_sendmsg'])),
    ]);
    const rows = [rec!, rep!].flatMap((e) =>
      toRowChanges(e).filter((c) => c.table === READ_MODEL_TABLES.plans),
    );
    expect(rows.map((r) => (r.op === 'insert' ? r.values : null))).toEqual([
      expect.objectContaining({
        node_id: 'web-1',
        policy: 'tcp-latency',
        policy_version: 1,
        source: 'recorded',
        rollout_id: 'r1',
        generation: null,
        reason: null,
        actor: 'coordinator',
      }),
      expect.objectContaining({
        source: 'replanned',
        rollout_id: null,
        generation: 2,
        reason: 'vmlinux BTF object id 1 -> 7 after reboot',
        actor: 'agent:web-1',
      }),
    ]);
  });
});
