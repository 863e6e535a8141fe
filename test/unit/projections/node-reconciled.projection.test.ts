import { describe, expect, it } from 'vitest';
import type { FleetRecordedEvent, PolicyReconcileOutcome } from '@tramway/shared/domain';
import { decodeFleetEventOrThrow } from '@tramway/shared/contracts';
import { fleetStateJson, foldFleet, initialFleetState } from '@tramway/shared/projections';
import type { LoggedFact } from '../../fixtures/event-logs/fleet-log-builder.js';
import { recordFacts } from '../../fixtures/event-logs/fleet-log-builder.js';

const decodeAll = (facts: readonly LoggedFact[]): FleetRecordedEvent[] =>
  recordFacts(facts).map(decodeFleetEventOrThrow);

const reconciled = (generation: number, policies: PolicyReconcileOutcome[]): LoggedFact => ({
  actor: 'agent:web-2',
  event: {
    type: 'NodeReconciled',
    data: { nodeId: 'web-2', observedGeneration: generation, policies },
  },
});

const waiting: PolicyReconcileOutcome = {
  policy: 'tcp-latency',
  version: 1,
  attached: 2,
  pending: [
    { function: 'nft_do_chain', module: 'nf_tables' },
    { function: 'nft_lookup', module: 'nf_tables' },
  ],
  rejected: [],
};

describe('NodeReconciled in the fleet projection', () => {
  it('keeps the last outcome per policy, replaced whole by the next one', () => {
    // Given a node that reported two policies, then only one with its module loaded
    const other: PolicyReconcileOutcome = {
      policy: 'udp',
      version: 3,
      attached: 0,
      pending: [],
      rejected: [{ function: 'udp_sendmsg', errno: 95, reason: 'no multi-link' }],
    };
    const first = foldFleet(initialFleetState(), decodeAll([reconciled(1, [waiting, other])]));
    expect(first.nodes['web-2']?.reconciled).toEqual({ 'tcp-latency': waiting, udp: other });
    expect(first.nodes['web-2']?.observedGeneration).toBe(1);

    const loaded = { ...waiting, attached: 4, pending: [] };
    const facts = [reconciled(1, [waiting, other]), reconciled(2, [loaded])];
    const next = foldFleet(initialFleetState(), decodeAll(facts));

    // Then the node's outcomes are the last report's only
    expect(next.nodes['web-2']?.reconciled).toEqual({ 'tcp-latency': loaded });
    expect(next.nodes['web-2']?.observedGeneration).toBe(2);
  });

  it('adds no reconciled field to a node that never reported one (snapshots stay byte-identical)', () => {
    const state = foldFleet(initialFleetState(), decodeAll([reconciled(1, [waiting])]));
    const json = JSON.parse(fleetStateJson(state)) as { nodes: Record<string, object> };
    expect(Object.keys(json.nodes['web-2']!)).toContain('reconciled');
    const empty = foldFleet(
      initialFleetState(),
      decodeAll([
        {
          actor: 'agent:web-1',
          event: { type: 'NodeBooted', data: { nodeId: 'web-1', bootId: 'b1' } },
        },
      ]),
    );
    expect(Object.keys(empty.nodes['web-1']!)).not.toContain('reconciled');
  });
});
