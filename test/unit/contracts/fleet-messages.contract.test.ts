import { describe, expect, it } from 'vitest';
import {
  InvalidMessageError,
  decodeMessage,
  decodeMessageOrThrow,
} from '../../../shared/src/contracts/fleet-messages.contract.js';

const policy = {
  apiVersion: 'tramway.dev/v1alpha1',
  kind: 'TracingPolicy',
  metadata: { name: 'tcp-latency' },
  spec: {
    program: { name: 'tcp_lat', attach: 'fentry' },
    targets: [{ pattern: 'tcp_*', cookie: 5 }],
  },
};

describe('decodeMessage', () => {
  it('accepts a Heartbeat and returns it typed', () => {
    const hb = {
      nodeId: 'n1',
      bootId: 'b1',
      observedGeneration: 3,
      at: '2026-11-25T13:00:00.000Z',
    };
    expect(decodeMessage('Heartbeat', hb)).toEqual({ ok: true, value: hb });
  });

  it('names the message and every field path that is wrong', () => {
    const sut = decodeMessage('Heartbeat', {
      nodeId: 'a.b',
      observedGeneration: -1,
      at: 'yesterday',
    });
    expect(sut.ok).toBe(false);
    if (sut.ok) return;
    expect(sut.error).toBeInstanceOf(InvalidMessageError);
    expect(sut.error).toMatchObject({
      code: 'InvalidMessage',
      retryable: false,
      messageName: 'Heartbeat',
    });
    expect(sut.error.problems.map((p) => p.path)).toEqual([
      'nodeId',
      'bootId',
      'observedGeneration',
      'at',
    ]);
    expect(sut.error.message).toMatch(/^invalid Heartbeat: nodeId: a node id/);
  });

  it('validates the policy of a plan request with the domain rules, at the nested path', () => {
    const ok = decodeMessage('PlanRequest', { policy, policyVersion: 2 });
    expect(ok.ok && ok.value.policy.spec.targets).toEqual([{ pattern: 'tcp_*', cookie: '5' }]);
    const bad = decodeMessage('PlanRequest', {
      policy: { ...policy, spec: { ...policy.spec, targets: [{ pattern: 'x[' }] } },
      policyVersion: 0,
    });
    expect(bad.ok ? [] : bad.error.problems).toEqual([
      {
        path: 'policy.spec.targets[0].pattern',
        problem: "pattern 'x[': unclosed '[' at position 1 in 'x['",
      },
      {
        path: 'policyVersion',
        problem: expect.stringMatching(/>0|greater than 0|too small/i) as unknown as string,
      },
    ]);
  });

  it('validates each policy spec of an Assignment and refuses a policy listed twice', () => {
    const entry = { name: 'tcp-latency', version: 1, spec: policy.spec };
    expect(decodeMessage('Assignment', { nodeId: 'n1', generation: 4, policies: [entry] }).ok).toBe(
      true,
    );
    const bad = decodeMessage('Assignment', {
      nodeId: 'n1',
      generation: 4,
      policies: [entry, { ...entry, spec: { ...policy.spec, strategy: 'fast' } }],
    });
    expect(bad.ok ? [] : bad.error.problems.map((p) => `${p.path}: ${p.problem}`)).toEqual([
      'policies[1].spec.strategy: must be one of multi, per-function, auto (got "fast")',
    ]);
    const twice = decodeMessage('Assignment', {
      nodeId: 'n1',
      generation: 4,
      policies: [entry, entry],
    });
    expect(twice.ok ? [] : twice.error.problems).toEqual([
      { path: 'policies', problem: 'a policy may appear once per assignment' },
    ]);
  });

  it('carries the recorded plan of each assigned policy, checked target by target', () => {
    const plan = {
      path: 'tracing-multi',
      targets: [
        { function: 'tcp_sendmsg', objId: 1, btfId: 10, cookie: '7', status: 'attach' },
        { function: 'nft_do_chain', module: 'nf_tables', btfId: 4, cookie: '0', status: 'pending' },
      ],
      unmatched: [{ pattern: 'xfs:*', reason: 'no module xfs' }],
    };
    const entry = { name: 'tcp-latency', version: 1, spec: policy.spec, plan };
    const sent = { nodeId: 'n1', generation: 4, policies: [entry] };
    const decoded = decodeMessage('Assignment', sent);
    expect(decoded.ok && decoded.value.policies[0]?.plan).toEqual(plan);
    const bad = decodeMessage('Assignment', {
      ...sent,
      policies: [{ ...entry, plan: { ...plan, targets: [{ ...plan.targets[0], btfId: -1 }] } }],
    });
    expect(bad.ok ? [] : bad.error.problems.map((p) => p.path)).toEqual([
      'policies[0].plan.targets[0].btfId',
    ]);
  });

  it('accepts a NodePlan, and null as the reply of an assignment request', () => {
    const plan = {
      nodeId: 'n1',
      policy: 'tcp-latency',
      policyVersion: 1,
      path: 'tracing-multi',
      targets: [
        {
          function: 'tcp_sendmsg',
          objId: 1,
          btfId: 10,
          cookie: '0',
          status: 'attach',
          headroom: 38,
        },
        { function: 'nft_do_chain', module: 'nf_tables', cookie: '0', status: 'pending' },
      ],
      unmatched: [],
      counts: { attach: 1, pending: 1, rejected: 0, trampolineFull: 0 },
    };
    expect(decodeMessage('NodePlan', plan)).toEqual({ ok: true, value: plan });
    expect(decodeMessage('AssignmentReply', null)).toEqual({ ok: true, value: null });
    expect(decodeMessage('NodePlan', { ...plan, path: 'kprobe' }).ok).toBe(false);
  });

  it('checks a FactBatch envelope and the event ids, leaving event data to the event codec', () => {
    const event = {
      id: 'e1',
      type: 'NodeBooted',
      schemaVersion: 1,
      data: { anything: true },
      metadata: { occurredAt: '2026-11-25T13:00:00Z', actor: 'agent:n1' },
    };
    expect(decodeMessage('FactBatch', { nodeId: 'n1', bootId: 'b', events: [event] }).ok).toBe(
      true,
    );
    const bad = decodeMessage('FactBatch', {
      nodeId: 'n1',
      bootId: 'b',
      events: [{ ...event, id: '' }],
    });
    expect(bad.ok ? [] : bad.error.problems.map((p) => p.path)).toEqual(['events[0].id']);
  });

  it('checks module requests and NodeActualState', () => {
    expect(decodeMessage('ModuleRequest', { action: 'load', module: 'nf_tables' }).ok).toBe(true);
    expect(decodeMessage('ModuleRequest', { action: 'insmod', module: 'nf tables' }).ok).toBe(
      false,
    );
    const state = {
      nodeId: 'n1',
      bootId: 'b',
      observedGeneration: 2,
      links: [
        {
          linkId: 4,
          policy: 'tcp-latency',
          policyVersion: 1,
          program: 'tcp_lat',
          connections: [
            { function: 'tcp_sendmsg', objId: 1, btfId: 10, cookie: '18446744073709551615' },
          ],
        },
      ],
      modules: [{ name: 'nf_tables', state: 'unloaded' }],
    };
    expect(decodeMessage('NodeActualState', state).ok).toBe(true);
    const bad = decodeMessage('NodeActualState', {
      ...state,
      links: [
        {
          ...state.links[0],
          connections: [{ function: 'f', objId: 1, btfId: 1, cookie: '18446744073709551616' }],
        },
      ],
    });
    expect(bad.ok ? '' : bad.error.problems[0]?.path).toBe('links[0].connections[0].cookie');
  });

  it('throws the InvalidMessageError from decodeMessageOrThrow', () => {
    expect(() => decodeMessageOrThrow('AssignmentRequest', {})).toThrow(
      /invalid AssignmentRequest: nodeId/,
    );
  });
});
