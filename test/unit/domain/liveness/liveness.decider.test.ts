import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FleetRecordedEvent, JudgeLiveness } from '@tramway/shared/domain';
import { FleetStreams, livenessDecider } from '@tramway/shared/domain';
import type { GivenEvent } from '../../../support/given-when-then.js';
import { deciderSpec, recordDecided, recordEvents } from '../../../support/given-when-then.js';

const sut = deciderSpec(livenessDecider);

const NODE = 'node-a';
const LISTENING = Date.parse('2026-12-01T12:00:00.000Z');
const STALE_AFTER = 15_000;
const iso = (ms: number): string => new Date(ms).toISOString();

const judge = (nowMs: number, lastHeardMs: number | undefined): JudgeLiveness => ({
  type: 'JudgeLiveness',
  data: {
    nodeId: NODE,
    nowMs,
    lastHeardMs,
    listeningSinceMs: LISTENING,
    staleAfterMs: STALE_AFTER,
  },
});

const markedStale = (streamId?: string, id?: string): GivenEvent => ({
  type: 'NodeMarkedStale',
  data: { nodeId: NODE, lastSeen: iso(LISTENING - 60_000), silentMs: 60_000 },
  ...(streamId === undefined ? {} : { streamId }),
  ...(id === undefined ? {} : { id }),
});
const markedAlive: GivenEvent = {
  type: 'NodeMarkedAlive',
  data: { nodeId: NODE, lastSeen: iso(LISTENING - 30_000) },
};

const stale = (n: number, lastSeen: string | null, silentMs: number) => ({
  id: `stale:${NODE}:${n}`,
  event: { type: 'NodeMarkedStale' as const, data: { nodeId: NODE, lastSeen, silentMs } },
});
const alive = (n: number, lastSeen: string) => ({
  id: `alive:${NODE}:${n}`,
  event: { type: 'NodeMarkedAlive' as const, data: { nodeId: NODE, lastSeen } },
});

describe('livenessDecider', () => {
  it('does nothing while the node is heard within staleAfterMs, the limit included', () => {
    const heard = LISTENING + 5_000;
    sut
      .given([])
      .when(judge(heard + 1_000, heard))
      .thenNothingHappened();
    sut
      .given([])
      .when(judge(heard + STALE_AFTER, heard))
      .thenNothingHappened();
  });

  it('marks the node stale after staleAfterMs of silence', () => {
    const heard = LISTENING + 5_000;
    const state = sut
      .given([])
      .when(judge(heard + STALE_AFTER + 1, heard))
      .then([stale(1, iso(heard), STALE_AFTER + 1)]);
    expect(state).toEqual({ stale: true, marks: 1 });
  });

  it('measures a node never heard since listening from when listening started', () => {
    sut
      .given([])
      .when(judge(LISTENING + STALE_AFTER, undefined))
      .thenNothingHappened();
    sut
      .given([])
      .when(judge(LISTENING + STALE_AFTER + 250, undefined))
      .then([stale(1, null, STALE_AFTER + 250)]);
  });

  it('keeps a node the log left stale stale until it is heard, even right after a restart', () => {
    // recorded by the previous coordinator in the node stream, under its own id
    const legacy = markedStale(FleetStreams.node(NODE), `stale:${NODE}:${LISTENING - 60_000}`);
    sut
      .given([legacy])
      .when(judge(LISTENING + 10, undefined))
      .thenNothingHappened();
    sut
      .given([markedStale()])
      .when(judge(LISTENING + 10, undefined))
      .thenNothingHappened();
  });

  it('marks a stale node alive again once it is heard', () => {
    const heard = LISTENING + 20_000;
    const state = sut
      .given([markedStale(FleetStreams.node(NODE))])
      .when(judge(heard + 100, heard))
      .then([alive(1, iso(heard))]);
    expect(state).toEqual({ stale: false, marks: 1 });
  });

  it('does not mark a stale node again while it stays silent, nor when last heard too long ago', () => {
    sut
      .given([markedStale()])
      .when(judge(LISTENING + 10 * STALE_AFTER, undefined))
      .thenNothingHappened();
    sut
      .given([markedStale()])
      .when(judge(LISTENING + 10 * STALE_AFTER, LISTENING))
      .thenNothingHappened();
  });

  it('numbers each stale mark, and each alive after the mark it ends', () => {
    const heard = LISTENING + 1_000;
    sut
      .given([markedStale(), markedAlive])
      .when(judge(heard + STALE_AFTER + 1, heard))
      .then([stale(2, iso(heard), STALE_AFTER + 1)]);
    sut
      .given([markedStale(), markedAlive, markedStale()])
      .when(judge(heard + 1, heard))
      .then([alive(2, iso(heard))]);
  });

  it('alternates stale and alive marks, each under an id of its own, whatever the heartbeats', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            afterMs: fc.integer({ min: 0, max: 3 * STALE_AFTER }),
            heard: fc.boolean(),
          }),
          { maxLength: 60 },
        ),
        fc.boolean(),
        (steps, leftStale) => {
          let { recorded, next } = recordEvents(leftStale ? [markedStale()] : []);
          let state = recorded.reduce(livenessDecider.evolve, livenessDecider.initialState());
          const log: FleetRecordedEvent[] = [...recorded];
          let nowMs = LISTENING;
          let lastHeardMs: number | undefined;
          for (const step of steps) {
            nowMs += step.afterMs;
            if (step.heard) lastHeardMs = nowMs;
            const command = judge(nowMs, lastHeardMs);
            const decision = livenessDecider.decide(command, state);
            expect(decision.ok).toBe(true);
            if (!decision.ok) return;
            ({ recorded, next } = recordDecided(decision.events, command, next));
            log.push(...recorded);
            state = recorded.reduce(livenessDecider.evolve, state);
            // the state says what the judgment says
            const silentFor = nowMs - (lastHeardMs ?? LISTENING);
            if (lastHeardMs !== undefined) expect(state.stale).toBe(silentFor > STALE_AFTER);
          }
          const types = log.map((e) => e.type);
          types.forEach((t, i) => {
            if (i > 0) expect(t).not.toBe(types[i - 1]);
          });
          const ids = log.map((e) => e.id);
          expect(new Set(ids).size).toBe(ids.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});
