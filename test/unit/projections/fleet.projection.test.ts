import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { FleetRecordedEvent } from '@tramway/shared/domain';
import { decodeFleetEventOrThrow } from '@tramway/shared/contracts';
import {
  evolveFleet,
  fleetStateJson,
  foldFleet,
  initialFleetState,
  restoreSnapshot,
  takeSnapshot,
  createFleetFolder,
} from '@tramway/shared/projections';
import type { LoggedFact } from '../../fixtures/event-logs/fleet-log-builder.js';
import { recordAll, recordFacts } from '../../fixtures/event-logs/fleet-log-builder.js';
import { syntheticFleetLog } from '../../fixtures/event-logs/synthetic-fleet-log.js';

const decodeAll = (facts: readonly LoggedFact[]): FleetRecordedEvent[] =>
  recordFacts(facts).map(decodeFleetEventOrThrow);

const given = (facts: readonly LoggedFact[]) => foldFleet(initialFleetState(), decodeAll(facts));

const agent = 'agent:node-17';
const registered: LoggedFact = {
  actor: agent,
  event: {
    type: 'NodeRegistered',
    data: {
      nodeId: 'node-17',
      labels: { role: 'web' },
      bootId: 'boot-1',
      kernelRelease: '6.14.2',
      profile: 'v24',
      btfFingerprint: 'sha256:aa',
    },
  },
};
const link = (
  linkId: number,
  functions: readonly [string, number][],
  actor = agent,
): LoggedFact => ({
  actor,
  event: {
    type: 'LinkCreated',
    data: {
      nodeId: 'node-17',
      linkId,
      programId: 12,
      programName: 'trace_tcp',
      policy: 'trace-tcp',
      attachType: 'BPF_TRACE_FENTRY_MULTI',
      connections: functions.map(([fn, btfId]) => ({ function: fn, objId: 1, btfId, cookie: '7' })),
    },
  },
});
const released = (linkId: number): LoggedFact => ({
  actor: agent,
  event: { type: 'LinkReleased', data: { nodeId: 'node-17', linkId, reason: 'detached' } },
});

describe('foldFleet', () => {
  it('counts the connections on each trampoline (node, objId, btfId) across links', () => {
    const sut = given([
      registered,
      link(1, [
        ['tcp_sendmsg', 100],
        ['tcp_recvmsg', 101],
      ]),
      link(2, [['tcp_sendmsg', 100]]),
    ]);
    expect(sut.nodes['node-17']?.trampolines).toEqual({
      '1:100': { objId: 1, btfId: 100, function: 'tcp_sendmsg', connections: 2 },
      '1:101': { objId: 1, btfId: 101, function: 'tcp_recvmsg', connections: 1 },
    });
  });

  it('frees the trampoline slots of a released link and drops empty trampolines', () => {
    const sut = given([
      registered,
      link(1, [
        ['tcp_sendmsg', 100],
        ['tcp_recvmsg', 101],
      ]),
      link(2, [['tcp_sendmsg', 100]]),
      released(1),
    ]);
    expect(Object.keys(sut.nodes['node-17']?.links ?? {})).toEqual(['2']);
    expect(sut.nodes['node-17']?.trampolines).toEqual({
      '1:100': { objId: 1, btfId: 100, function: 'tcp_sendmsg', connections: 1 },
    });
  });

  it('keeps the key order of step-by-step folding when a freed trampoline is taken again', () => {
    // Given a trampoline emptied and taken again, and a link id re-created, in one fold
    const facts: LoggedFact[] = [
      registered,
      link(1, [['tcp_sendmsg', 100]]),
      link(2, [['tcp_recvmsg', 101]]),
      released(1),
      link(3, [['tcp_sendmsg', 100]]),
      link(2, [['tcp_close', 102]]),
    ];
    const events = decodeAll(facts);
    // When it is folded at once, and one event per fold
    const atOnce = foldFleet(initialFleetState(), events);
    const stepwise = events.reduce(evolveFleet, initialFleetState());
    // Then both give the same bytes: the freed key goes last, link 2 holds only its new slot
    expect(fleetStateJson(atOnce)).toBe(fleetStateJson(stepwise));
    expect(Object.keys(atOnce.nodes['node-17']?.trampolines ?? {})).toEqual(['1:100', '1:102']);
    expect(Object.keys(atOnce.nodes['node-17']?.links ?? {})).toEqual(['2', '3']);
  });

  it('records who created a link, when, and at which position', () => {
    const sut = given([registered, link(5, [['tcp_sendmsg', 100]], 'user:alice')]);
    expect(sut.nodes['node-17']?.links['5']).toMatchObject({
      createdBy: 'user:alice',
      createdAt: '2026-11-24T13:00:01.000Z',
      createdPosition: 2,
      policy: 'trace-tcp',
    });
    expect(sut.position).toBe(2);
  });

  it('forgets links, programs and modules when the node boots again (new boot id)', () => {
    const sut = given([
      registered,
      {
        actor: agent,
        event: { type: 'ModuleLoaded', data: { nodeId: 'node-17', module: 'xfs', btfObjId: 9 } },
      },
      {
        actor: agent,
        event: {
          type: 'ProgramLoaded',
          data: {
            nodeId: 'node-17',
            programId: 12,
            name: 'trace_tcp',
            attachType: 'BPF_TRACE_FENTRY_MULTI',
          },
        },
      },
      link(1, [['tcp_sendmsg', 100]]),
      {
        actor: agent,
        event: { type: 'NodeBooted', data: { nodeId: 'node-17', bootId: 'boot-2' } },
      },
    ]);
    expect(sut.nodes['node-17']).toMatchObject({
      bootId: 'boot-2',
      links: {},
      trampolines: {},
      programs: {},
      modules: {},
      labels: { role: 'web' },
    });
  });

  it('tracks a rollout through its waves, holds and roll back', () => {
    const coord = 'coordinator';
    const sut = given([
      {
        actor: 'user:bob',
        event: { type: 'PolicyApplied', data: { name: 'p', version: 2, spec: { a: 1 } } },
      },
      {
        actor: coord,
        event: {
          type: 'RolloutStarted',
          data: { rolloutId: 'r1', policy: 'p', policyVersion: 2, waves: 2 },
        },
      },
      {
        actor: coord,
        event: { type: 'WaveStarted', data: { rolloutId: 'r1', wave: 0, nodes: ['node-17'] } },
      },
      {
        actor: coord,
        event: {
          type: 'WaveHeld',
          data: { rolloutId: 'r1', wave: 0, reason: 'errors', failureRatio: 0.5 },
        },
      },
      {
        actor: 'user:bob',
        event: { type: 'RolloutRolledBack', data: { rolloutId: 'r1', reason: 'held' } },
      },
    ]);
    expect(sut.policies['p']).toMatchObject({ version: 2, appliedBy: 'user:bob' });
    expect(sut.rollouts['r1']).toMatchObject({
      status: 'rolled-back',
      currentWave: 0,
      reason: 'held',
      waves: { '0': { status: 'held', failureRatio: 0.5, nodes: ['node-17'] } },
    });
  });

  it('lists a deleted policy as deleting until its release rollout completes, then not at all', () => {
    const applied: LoggedFact = {
      actor: 'user:bob',
      event: { type: 'PolicyApplied', data: { name: 'p', version: 2, spec: { a: 1 } } },
    };
    const deleted: LoggedFact = {
      actor: 'user:dave',
      event: { type: 'PolicyDeleted', data: { name: 'p', version: 2, reason: 'gone' } },
    };
    const releaseStarted: LoggedFact = {
      actor: 'user:dave',
      event: {
        type: 'RolloutStarted',
        data: {
          rolloutId: 'p-v2-delete',
          policy: 'p',
          policyVersion: 2,
          waves: 1,
          waveNodes: [['node-17']],
          previousVersion: 2,
          kind: 'release',
        },
      },
    };
    const releasing = given([applied, deleted, releaseStarted]);
    expect(releasing.policies['p']).toMatchObject({
      version: 2,
      deleting: { by: 'user:dave', rolloutId: 'p-v2-delete' },
    });
    expect(releasing.rollouts['p-v2-delete']).toMatchObject({ kind: 'release', status: 'running' });
    const done = given([
      applied,
      deleted,
      releaseStarted,
      {
        actor: 'coordinator',
        event: { type: 'RolloutCompleted', data: { rolloutId: 'p-v2-delete' } },
      },
    ]);
    expect(Object.hasOwn(done.policies, 'p')).toBe(false);
    expect(done.rollouts['p-v2-delete']?.status).toBe('completed');
    // applying the name again lists it as a policy in force, not deleting
    const again = given([
      applied,
      deleted,
      releaseStarted,
      {
        actor: 'coordinator',
        event: { type: 'RolloutCompleted', data: { rolloutId: 'p-v2-delete' } },
      },
      {
        actor: 'user:erin',
        event: { type: 'PolicyApplied', data: { name: 'p', version: 3, spec: { a: 1 } } },
      },
    ]);
    expect(again.policies['p']).toMatchObject({ version: 3, appliedBy: 'user:erin' });
    expect(again.policies['p']?.deleting).toBeUndefined();
  });

  it('keys policies, rollouts and nodes named like Object.prototype members as any other name', () => {
    const coord = 'coordinator';
    const sut = given([
      {
        actor: coord,
        event: { type: 'WaveStarted', data: { rolloutId: 'constructor', wave: 0, nodes: [] } },
      },
      {
        actor: 'user:bob',
        event: { type: 'PolicyRemoved', data: { name: 'constructor', version: 1 } },
      },
      {
        actor: 'user:bob',
        event: { type: 'PolicyApplied', data: { name: 'constructor', version: 1, spec: { a: 1 } } },
      },
      {
        actor: coord,
        event: {
          type: 'RolloutStarted',
          data: { rolloutId: 'toString', policy: 'constructor', policyVersion: 1, waves: 1 },
        },
      },
      {
        actor: coord,
        event: {
          type: 'WaveStarted',
          data: { rolloutId: 'toString', wave: 0, nodes: ['constructor'] },
        },
      },
      {
        actor: 'user:bob',
        event: { type: 'RolloutRolledBack', data: { rolloutId: 'toString', reason: 'held' } },
      },
    ]);
    expect(Object.keys(sut.policies)).toEqual(['constructor']);
    expect(sut.policies['constructor']).toMatchObject({ name: 'constructor', version: 1 });
    expect(Object.keys(sut.rollouts)).toEqual(['toString']);
    expect(sut.rollouts['toString']).toMatchObject({
      policy: 'constructor',
      status: 'rolled-back',
      waves: { '0': { status: 'running', nodes: ['constructor'] } },
    });
    const removed = foldFleet(
      sut,
      decodeAll([
        {
          actor: 'user:bob',
          event: { type: 'PolicyRemoved', data: { name: 'constructor', version: 1 } },
        },
      ]).map((e) => ({ ...e, globalPosition: e.globalPosition + 100 })),
    );
    expect(removed.policies).toEqual({});
  });

  it('skips events at or before the state position (re-delivery is harmless)', () => {
    const events = decodeAll([registered, link(1, [['tcp_sendmsg', 100]])]);
    const once = foldFleet(initialFleetState(), events);
    expect(foldFleet(once, events)).toBe(once);
  });

  it('never modifies the state it is given', () => {
    const events = decodeAll([registered, link(1, [['tcp_sendmsg', 100]])]);
    const before = foldFleet(initialFleetState(), events.slice(0, 1));
    const bytes = fleetStateJson(before);
    foldFleet(before, events.slice(1));
    evolveFleet(before, events[1] as FleetRecordedEvent);
    expect(fleetStateJson(before)).toBe(bytes);
  });
});

const syntheticEvents = (seed: number, events: number): FleetRecordedEvent[] =>
  recordAll(syntheticFleetLog({ seed, events, nodes: 6 })).map(decodeFleetEventOrThrow);

describe('fleet projection determinism', () => {
  it('gives the same bytes for reduce(evolveFleet), foldFleet and the incremental folder', () => {
    const events = syntheticEvents(7, 3000);
    const folded = fleetStateJson(foldFleet(initialFleetState(), events));
    expect(fleetStateJson(events.reduce(evolveFleet, initialFleetState()))).toBe(folded);
    const folder = createFleetFolder();
    events.forEach((e, i) => {
      folder.push(e);
      if (i % 500 === 0) folder.state();
    });
    expect(fleetStateJson(folder.state())).toBe(folded);
  });

  it('never changes a state it handed out, whatever is folded after it', () => {
    // Given states handed out along a log (by the folder, and by foldFleet on a prefix)
    const events = syntheticEvents(13, 3000);
    const folder = createFleetFolder();
    const handedOut: { state: ReturnType<typeof initialFleetState>; bytes: string }[] = [];
    events.forEach((e, i) => {
      folder.push(e);
      if (i % 300 === 150) {
        const state = folder.state();
        handedOut.push({ state, bytes: fleetStateJson(state) });
      }
    });
    const prefix = foldFleet(initialFleetState(), events.slice(0, 1000));
    const prefixBytes = fleetStateJson(prefix);
    // When the folds go on (links created and released on the same trampolines)
    foldFleet(prefix, events.slice(1000));
    folder.state();
    // Then every state handed out still has its bytes
    for (const { state, bytes } of handedOut) expect(fleetStateJson(state)).toBe(bytes);
    expect(fleetStateJson(prefix)).toBe(prefixBytes);
  });

  it('restores a snapshot at any position and replays the tail to the same bytes', () => {
    const events = syntheticEvents(11, 1500);
    const full = fleetStateJson(foldFleet(initialFleetState(), events));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: events.length }), (cut) => {
        const head = foldFleet(initialFleetState(), events.slice(0, cut));
        const restored = restoreSnapshot(takeSnapshot(head));
        if (!restored.ok) throw new Error(restored.error);
        expect(fleetStateJson(foldFleet(restored.value, events.slice(cut)))).toBe(full);
      }),
      { numRuns: 25 },
    );
  });

  it('holds links only on registered-or-seen nodes with occupancy equal to their connections', () => {
    const state = foldFleet(initialFleetState(), syntheticEvents(3, 4000));
    for (const node of Object.values(state.nodes)) {
      const counts: Record<string, number> = {};
      for (const l of Object.values(node.links)) {
        for (const c of l.connections)
          counts[`${c.objId}:${c.btfId}`] = (counts[`${c.objId}:${c.btfId}`] ?? 0) + 1;
      }
      const occupancy = Object.fromEntries(
        Object.entries(node.trampolines).map(([k, t]) => [k, t.connections]),
      );
      expect(occupancy).toEqual(counts);
    }
  });
});

describe('restoreSnapshot', () => {
  it.each([
    ['not json', /not JSON/],
    ['{"format":"other"}', /format is not tramway\.fleet-snapshot/],
    ['{"format":"tramway.fleet-snapshot","version":99}', /version 99 is not 1/],
    [
      '{"format":"tramway.fleet-snapshot","version":1,"position":3,"state":{"position":2}}',
      /malformed/,
    ],
  ])('refuses %s', (text, message) => {
    const sut = restoreSnapshot(text);
    expect(sut.ok ? '' : sut.error).toMatch(message);
  });
});
