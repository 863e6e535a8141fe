import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '@tramway/shared/lib';
import type { FleetEvent, FleetRecordedEvent } from '@tramway/shared/domain';
import {
  CURRENT_SCHEMA_VERSION,
  EventDecodeError,
  FLEET_EVENT_SCHEMAS,
  UPCASTERS,
  decodeFleetEvent,
  decodeFleetEventOrThrow,
  encodeFleetEvent,
} from '@tramway/shared/contracts';
import { fleetStateJson, foldFleet, initialFleetState } from '@tramway/shared/projections';
import { recordFacts } from '../../fixtures/event-logs/fleet-log-builder.js';

const linkCreated: FleetEvent = {
  type: 'LinkCreated',
  data: {
    nodeId: 'node-17',
    linkId: 4,
    programId: 12,
    programName: 'trace_tcp',
    policy: 'trace-tcp',
    attachType: 'BPF_TRACE_FENTRY_MULTI',
    connections: [
      { function: 'tcp_sendmsg', objId: 1, btfId: 20_104, cookie: '18446744073709551615' },
      { function: 'nft_do_chain', module: 'nf_tables', objId: 101, btfId: 1000, cookie: '0' },
    ],
  },
};

/** One recorded event, with fields overridden. */
const recorded = (overrides: Record<string, unknown> = {}, event: FleetEvent = linkCreated) =>
  ({ ...recordFacts([{ event, actor: 'agent:node-17' }])[0], ...overrides }) as RecordedEvent;

/** One example of every event type, as a producer would write it. */
const EXAMPLES: readonly FleetEvent[] = [
  {
    type: 'NodeRegistered',
    data: {
      nodeId: 'n1',
      labels: { role: 'web' },
      bootId: 'b1',
      kernelRelease: '6.14.2',
      profile: 'v24',
      btfFingerprint: 'sha256:ab',
    },
  },
  { type: 'NodeBooted', data: { nodeId: 'n1', bootId: 'b2' } },
  {
    type: 'KernelProfileDetected',
    data: { nodeId: 'n1', profile: 'v26', attachPath: 'tracing-multi', btfFingerprint: 'x' },
  },
  { type: 'ModuleLoaded', data: { nodeId: 'n1', module: 'xfs', btfObjId: 100 } },
  { type: 'ModuleUnloaded', data: { nodeId: 'n1', module: 'xfs' } },
  {
    type: 'ProgramLoaded',
    data: { nodeId: 'n1', programId: 3, name: 'p', attachType: 'BPF_TRACE_FEXIT_MULTI' },
  },
  { type: 'ProgramUnloaded', data: { nodeId: 'n1', programId: 3, name: 'p' } },
  linkCreated,
  {
    type: 'LinkCreateFailed',
    data: {
      nodeId: 'n1',
      programId: 3,
      programName: 'p',
      attachType: 'BPF_TRACE_FENTRY_MULTI',
      errno: 7,
      failingTarget: { function: 'tcp_sendmsg', objId: 1, btfId: 9 },
      reason: 'trampoline full',
    },
  },
  { type: 'LinkReleased', data: { nodeId: 'n1', linkId: 4, reason: 'detached' } },
  {
    type: 'DriftFound',
    data: {
      nodeId: 'n1',
      observedGeneration: 2,
      items: [{ kind: 'missing-link', function: 'tcp_close', detail: 'absent' }],
    },
  },
  {
    type: 'NodeReconciled',
    data: {
      nodeId: 'n1',
      observedGeneration: 3,
      policies: [
        {
          policy: 'p',
          version: 2,
          attached: 4,
          pending: [{ function: 'nft_do_chain', module: 'nf_tables' }],
          rejected: [{ function: 'tcp_close', errno: 95, reason: 'not attachable' }],
        },
      ],
    },
  },
  {
    type: 'NodeReplanned',
    data: {
      nodeId: 'n1',
      generation: 3,
      policy: 'p',
      policyVersion: 2,
      reason: 'module nf_tables loaded',
      plan: {
        path: 'tracing-multi',
        targets: [
          {
            function: 'nft_do_chain',
            module: 'nf_tables',
            objId: 102,
            btfId: 1000,
            cookie: '0',
            status: 'attach',
            headroom: 38,
          },
        ],
        unmatched: [],
      },
    },
  },
  {
    type: 'PolicyApplied',
    data: { name: 'p', version: 1, spec: { functions: ['tcp_*'], waves: [10, 100] } },
  },
  { type: 'PolicyRemoved', data: { name: 'p', version: 1 } },
  { type: 'PolicyDeleted', data: { name: 'p', version: 2, reason: 'deleted by token:alice' } },
  { type: 'RolloutStarted', data: { rolloutId: 'r1', policy: 'p', policyVersion: 1, waves: 2 } },
  {
    type: 'RolloutStarted',
    data: {
      rolloutId: 'p-v2-delete',
      policy: 'p',
      policyVersion: 2,
      waves: 1,
      waveNodes: [['n1']],
      previousVersion: 2,
      kind: 'release',
    },
  },
  {
    type: 'RolloutStarted',
    data: {
      rolloutId: 'p-v2-rollback',
      policy: 'p',
      policyVersion: 1,
      waves: 1,
      waveNodes: [['n1']],
      previousVersion: 2,
      kind: 'rollback',
      rollsBack: 'p-v2',
    },
  },
  { type: 'WaveStarted', data: { rolloutId: 'r1', wave: 0, nodes: ['n1'] } },
  {
    type: 'WaveHeld',
    data: { rolloutId: 'r1', wave: 0, reason: 'too many failures', failureRatio: 0.5 },
  },
  { type: 'WaveCompleted', data: { rolloutId: 'r1', wave: 0, succeeded: 1, failed: 0 } },
  { type: 'RolloutCompleted', data: { rolloutId: 'r1' } },
  { type: 'RolloutRolledBack', data: { rolloutId: 'r1', reason: 'held' } },
  {
    type: 'AssignmentIssued',
    data: {
      nodeId: 'n1',
      generation: 2,
      links: [
        {
          policy: 'p',
          policyVersion: 1,
          program: 'p',
          attachType: 'BPF_TRACE_FENTRY_MULTI',
          functions: ['tcp_*'],
        },
      ],
      reason: 'rollout r1, wave 0',
    },
  },
  {
    type: 'PlanRecorded',
    data: {
      nodeId: 'n1',
      policy: 'p',
      policyVersion: 1,
      rolloutId: 'r1',
      plan: {
        path: 'tracing-multi',
        targets: [
          {
            function: 'tcp_sendmsg',
            objId: 1,
            btfId: 20_104,
            cookie: '7',
            status: 'attach',
            headroom: 38,
          },
          {
            function: 'nft_do_chain',
            module: 'nf_tables',
            btfId: 1000,
            cookie: '0',
            status: 'pending',
          },
          {
            function: 'tcp_close',
            objId: 1,
            btfId: 20_200,
            cookie: '0',
            status: 'rejected',
            errno: 'EINVAL',
            reason: 'argument mismatch',
            headroom: 38,
          },
        ],
        unmatched: [{ pattern: 'xfs:*', reason: 'no module xfs' }],
      },
    },
  },
  {
    type: 'NodeMarkedStale',
    data: { nodeId: 'n1', lastSeen: '2026-11-25T10:00:00.000Z', silentMs: 15001 },
  },
  { type: 'NodeMarkedAlive', data: { nodeId: 'n1', lastSeen: '2026-11-25T10:01:00.000Z' } },
  {
    type: 'NodeTakenBack',
    data: {
      nodeId: 'n1',
      epoch: 1,
      reason: 'the node reported generation 1000000, which the coordinator never issued',
      claimedGeneration: 1_000_000,
    },
  },
  { type: 'NodeAdmissionPending', data: { nodeId: 'n1', reason: 'waiting for approval' } },
  { type: 'NodeApproved', data: { nodeId: 'n1', reason: 'auto-approved credential' } },
  {
    type: 'AccessTokenIssued',
    data: { name: 'alice', role: 'operator', tokenHash: 'ab'.repeat(32), issuedBy: 'token:admin' },
  },
  {
    type: 'AccessTokenRevoked',
    data: { name: 'alice', revokedBy: 'token:admin', reason: 'left the team' },
  },
  {
    type: 'ModuleActionRequested',
    data: { nodeId: 'n1', module: 'nf_tables', action: 'load', ok: true },
  },
];

describe('decodeFleetEvent', () => {
  it('has an example for every event type', () => {
    expect(new Set(EXAMPLES.map((e) => e.type))).toEqual(
      new Set(Object.keys(CURRENT_SCHEMA_VERSION)),
    );
  });

  it.each(EXAMPLES.map((e) => [e.type, e] as const))('round-trips %s unchanged', (_type, event) => {
    const [rec] = recordFacts([{ event, actor: 'user:alice' }]);
    const result = decodeFleetEvent(rec as RecordedEvent);
    expect(result).toEqual({ ok: true, value: { ...rec, type: event.type, data: event.data } });
  });

  it('lifts LinkCreated v1 (no cookies) to the current version with cookie "0" on every connection', () => {
    const v1Data = {
      ...linkCreated.data,
      connections: [
        { function: 'tcp_sendmsg', objId: 1, btfId: 20_104 },
        { function: 'tcp_recvmsg', objId: 1, btfId: 20_105 },
      ],
    };
    const result = decodeFleetEvent(recorded({ schemaVersion: 1, data: v1Data }));
    expect(result.ok && result.value.schemaVersion).toBe(3);
    expect(
      result.ok && result.value.type === 'LinkCreated' && result.value.data.connections,
    ).toEqual([
      { function: 'tcp_sendmsg', objId: 1, btfId: 20_104, cookie: '0' },
      { function: 'tcp_recvmsg', objId: 1, btfId: 20_105, cookie: '0' },
    ]);
  });

  it('validates a v1 payload against the v1 schema: a v1 LinkCreated may not carry a cookie', () => {
    const v1Data = { ...linkCreated.data };
    const result = decodeFleetEvent(recorded({ schemaVersion: 1, data: v1Data }));
    expect(result.ok ? undefined : result.error.path).toBe('data.connections[0].cookie');
  });

  it('names the event (type, id, position) and the field path of a malformed field', () => {
    const bad = {
      ...linkCreated.data,
      connections: [
        linkCreated.data.connections[0],
        { ...linkCreated.data.connections[1], btfId: '1000' },
      ],
    };
    const result = decodeFleetEvent(recorded({ data: bad, globalPosition: 42, id: 'ev-42' }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatchObject({
      eventType: 'LinkCreated',
      eventId: 'ev-42',
      globalPosition: 42,
      path: 'data.connections[1].btfId',
    });
    expect(() =>
      decodeFleetEventOrThrow(recorded({ data: bad, globalPosition: 42, id: 'ev-42' })),
    ).toThrow(
      /^LinkCreated v3 \(id ev-42, position 42, stream node-node-17\): data\.connections\[1\]\.btfId: Invalid input: expected number, received string$/,
    );
  });

  it('rejects a cookie that is not a decimal (and does not throw on it)', () => {
    const bad = {
      ...linkCreated.data,
      connections: [{ ...linkCreated.data.connections[0], cookie: '1e3' }],
    };
    const result = decodeFleetEvent(recorded({ data: bad }));
    expect(result.ok ? '' : result.error.path).toBe('data.connections[0].cookie');
  });

  it('rejects a cookie above 2^64-1', () => {
    const bad = {
      ...linkCreated.data,
      connections: [{ ...linkCreated.data.connections[0], cookie: '18446744073709551616' }],
    };
    const result = decodeFleetEvent(recorded({ data: bad }));
    expect(result.ok ? '' : `${result.error.path}: ${result.error.problem}`).toBe(
      'data.connections[0].cookie: a decimal u64 (at most 2^64-1)',
    );
  });

  it.each([
    [{ type: 'LinkTeleported' }, 'type', 'unknown event type "LinkTeleported"'],
    [{ schemaVersion: 4 }, 'schemaVersion', 'version 4 is newer than the known 3'],
    [{ streamId: 'node-other' }, 'streamId', 'a LinkCreated belongs to stream node-node-17'],
    [{ metadata: { occurredAt: 'yesterday', actor: 'x' } }, 'metadata.occurredAt', undefined],
    [{ metadata: { occurredAt: '2026-11-24T14:00:00Z', actor: '' } }, 'metadata.actor', undefined],
    [{ data: { ...linkCreated.data, surprise: 1 } }, 'data.surprise', 'unknown field'],
    [{ data: { ...linkCreated.data, connections: [] } }, 'data.connections', undefined],
  ])('rejects %j at %s', (overrides, path, problem) => {
    const result = decodeFleetEvent(recorded(overrides));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.path).toBe(path);
    if (problem) expect(result.error.problem).toBe(problem);
  });

  it('throws EventDecodeError, not retryable, from the throwing variant', () => {
    const attempt = () => decodeFleetEventOrThrow(recorded({ type: 'Nope' }));
    expect(attempt).toThrow(EventDecodeError);
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ code: 'EventDecodeFailed', retryable: false });
    }
  });
});

/**
 * The decode without hand-written checks: every version's zod schema, then its upcaster. What
 * `decodeFleetEvent` must give, its fast checks only skipping work.
 */
const decodeByZodOnly = (rec: RecordedEvent): FleetRecordedEvent => {
  const type = rec.type as keyof typeof FLEET_EVENT_SCHEMAS;
  const versions = FLEET_EVENT_SCHEMAS[type] as unknown as Record<
    number,
    { parse: (data: unknown) => unknown }
  >;
  const upcasters = UPCASTERS[type] as
    Record<number, (data: Record<string, unknown>) => Record<string, unknown>> | undefined;
  const current = CURRENT_SCHEMA_VERSION[type];
  let data: unknown = rec.data;
  for (let v = rec.schemaVersion; v <= current; v++) {
    const schema = versions[v];
    if (!schema) throw new Error(`no schema for ${type} v${v}`);
    data = schema.parse(data);
    if (v < current) {
      const up = upcasters?.[v];
      if (!up) throw new Error(`no upcaster for ${type} v${v}`);
      data = up(data as Record<string, unknown>);
    }
  }
  return { ...rec, schemaVersion: current, data } as FleetRecordedEvent;
};

describe('decodeFleetEvent fast checks', () => {
  // every event type, then LinkCreated as v1 (no cookies), v2 (no reason) and v3 with a reason
  const v1Connections = [
    { function: 'tcp_sendmsg', objId: 1, btfId: 20_104 },
    { function: 'nft_do_chain', module: 'nf_tables', objId: 101, btfId: 1000 },
  ];
  const facts = [
    ...EXAMPLES,
    { ...linkCreated, data: { ...linkCreated.data, linkId: 5 } },
    { ...linkCreated, data: { ...linkCreated.data, linkId: 6 } },
    { ...linkCreated, data: { ...linkCreated.data, linkId: 7, reason: 'adopted after restart' } },
  ].map((event) => ({ event, actor: 'agent:node-17' }));
  const log = recordFacts(facts).map((rec, i, all): RecordedEvent => {
    if (i === all.length - 3) {
      const { linkId, nodeId, programId, programName, policy, attachType } = rec.data as Record<
        string,
        unknown
      >;
      return {
        ...rec,
        schemaVersion: 1,
        data: {
          nodeId,
          linkId,
          programId,
          programName,
          policy,
          attachType,
          connections: v1Connections,
        },
      };
    }
    return i === all.length - 2 ? { ...rec, schemaVersion: 2 } : rec;
  });

  it('decode the log of every event type and of old LinkCreated versions as zod alone does, byte for byte', () => {
    expect(new Set(log.map((e) => e.type))).toEqual(new Set(Object.keys(CURRENT_SCHEMA_VERSION)));
    expect(log.filter((e) => e.type === 'LinkCreated').map((e) => e.schemaVersion)).toEqual([
      3, 1, 2, 3,
    ]);
    for (const rec of log) {
      expect(JSON.stringify(decodeFleetEventOrThrow(rec))).toBe(
        JSON.stringify(decodeByZodOnly(rec)),
      );
    }
  });

  it('give the same replayed state as the zod-only decode, byte for byte', () => {
    const fast = foldFleet(initialFleetState(), log.map(decodeFleetEventOrThrow));
    const full = foldFleet(initialFleetState(), log.map(decodeByZodOnly));
    expect(fast.position).toBe(log.length);
    expect(fleetStateJson(fast)).toBe(fleetStateJson(full));
  });
});

describe('encodeFleetEvent', () => {
  it('stamps the current schema version and the stream of the event', () => {
    const sut = encodeFleetEvent(linkCreated, {
      id: 'x1',
      metadata: { occurredAt: '2026-11-24T14:00:00Z', actor: 'agent:node-17' },
    });
    expect(sut.streamId).toBe('node-node-17');
    expect(sut.event).toMatchObject({ id: 'x1', type: 'LinkCreated', schemaVersion: 3 });
  });

  it('LinkCreated v3 carries an optional reason (a link adopted after a restart); v2 lifts unchanged', () => {
    const adopted = {
      ...linkCreated.data,
      reason: 'adopted after restart: intent recorded before create',
    };
    const v3 = decodeFleetEvent(recorded({ schemaVersion: 3, data: adopted }));
    expect(v3.ok && v3.value.data).toEqual(adopted);
    const v2 = decodeFleetEvent(recorded({ schemaVersion: 2, data: linkCreated.data }));
    expect(v2.ok && v2.value).toMatchObject({ schemaVersion: 3, data: linkCreated.data });
    // v2 never had a reason: refused there, as any unknown field
    const v2WithReason = decodeFleetEvent(recorded({ schemaVersion: 2, data: adopted }));
    expect(v2WithReason.ok ? '' : v2WithReason.error.path).toBe('data.reason');
  });

  it('refuses data that does not match its schema, naming the field', () => {
    const bad = {
      type: 'ModuleLoaded',
      data: { nodeId: 'n1', module: 'xfs', btfObjId: -1 },
    } as const;
    expect(() =>
      encodeFleetEvent(bad, {
        id: 'x',
        metadata: { occurredAt: '2026-11-24T14:00:00Z', actor: 'a' },
      }),
    ).toThrow(/^ModuleLoaded v1: data\.btfObjId: /);
  });
});
