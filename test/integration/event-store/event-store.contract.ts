import { randomUUID } from 'node:crypto';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewEvent, RecordedEvent } from '../../../shared/src/lib/event-envelope.js';
import type { EventStore } from '../../../shared/src/infra/event-store/event-store.port.js';
import {
  EventIdConflictError,
  EventStoreClosedError,
  ExpectedVersionConflictError,
  InvalidAppendError,
  InvalidReadOptionsError,
  isAppError,
} from '../../../shared/src/infra/errors.js';
import { waitUntil } from '../../support/wait-until.js';

/** Builds a fresh, empty store for one test; the suite closes it. */
export type EventStoreFactory = () => Promise<EventStore>;

let counter = 0;
export const anEvent = (overrides: Partial<NewEvent> = {}): NewEvent => {
  counter++;
  return {
    id: `${randomUUID()}`,
    type: 'LinkCreated',
    schemaVersion: 1,
    data: { n: counter, target: 'tcp_v4_connect', cookie: counter * 7 },
    metadata: { occurredAt: '2026-11-25T10:00:00.000Z', actor: 'agent:node-1' },
    ...overrides,
  };
};
export const someEvents = (n: number): NewEvent[] => Array.from({ length: n }, () => anEvent());

const drain = async (iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const event of iterable) out.push(event);
  return out;
};

const rejectionOf = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
};

/**
 * The EventStore conformance suite (STYLE.md §8 "Contract suites"): every adapter must pass it
 * unchanged. `name` names the adapter in the report.
 */
export const testEventStore = (name: string, factory: EventStoreFactory): void => {
  describe(`EventStore contract: ${name}`, () => {
    let sut: EventStore;

    beforeEach(async () => {
      sut = await factory();
    });
    afterEach(async () => {
      expect(await sut.close()).toBeUndefined();
    });

    describe('an empty log', () => {
      it('has head position 0, no events and empty streams', async () => {
        expect(await sut.headPosition()).toBe(0);
        expect(await drain(sut.readAll())).toEqual([]);
        expect(await sut.readStream('node-1')).toEqual([]);
      });
    });

    describe('append', () => {
      it('stores a batch with versions 1..n and the envelope unchanged', async () => {
        const events = [
          anEvent({
            type: 'NodeRegistered',
            data: { nested: { list: [1, 'two', null] }, ü: 'ñ✓' },
          }),
          anEvent({
            data: null,
            metadata: {
              occurredAt: '2026-11-25T10:00:01.000Z',
              actor: 'coordinator',
              correlationId: 'c-1',
              causationId: 'k-9',
            },
          }),
          anEvent({ schemaVersion: 3 }),
        ];
        const result = await sut.append('node-1', 'no-stream', events);

        expect(result.streamVersion).toBe(3);
        expect(result.appended).toBe(3);
        const stored = await sut.readStream('node-1');
        expect(stored.map((e) => e.streamVersion)).toEqual([1, 2, 3]);
        expect(
          stored.map(({ id, type, schemaVersion, data, metadata }) => ({
            id,
            type,
            schemaVersion,
            data,
            metadata,
          })),
        ).toEqual(events);
        expect(stored.every((e) => e.streamId === 'node-1')).toBe(true);
        expect(stored.every((e) => !Number.isNaN(Date.parse(e.recordedAt)))).toBe(true);
        expect(stored.at(-1)?.globalPosition).toBe(result.lastGlobalPosition);
        expect(await sut.headPosition()).toBe(result.lastGlobalPosition);
      });

      it('accepts an append whose expected version is the current one', async () => {
        await sut.append('node-1', 0, someEvents(2));
        const result = await sut.append('node-1', 2, someEvents(1));
        expect(result).toMatchObject({ streamVersion: 3, appended: 1 });
      });

      it('refuses a stale expected version with a retryable conflict naming stream, expected and actual', async () => {
        await sut.append('node-1', 'no-stream', someEvents(2));

        const error = await rejectionOf(sut.append('node-1', 1, someEvents(1)));

        expect(error).toBeInstanceOf(ExpectedVersionConflictError);
        expect(error).toMatchObject({
          streamId: 'node-1',
          expected: 1,
          actual: 2,
          retryable: true,
        });
        expect(isAppError(error, 'ExpectedVersionConflict')).toBe(true);
        expect((error as Error).message).toContain('node-1');
        expect(await sut.readStream('node-1')).toHaveLength(2);
      });

      it("refuses 'no-stream' and a future version on a stream that exists or does not", async () => {
        await sut.append('node-1', 'no-stream', someEvents(1));
        expect(await rejectionOf(sut.append('node-1', 'no-stream', someEvents(1)))).toMatchObject({
          code: 'ExpectedVersionConflict',
          expected: 0,
          actual: 1,
        });
        expect(await rejectionOf(sut.append('node-2', 5, someEvents(1)))).toMatchObject({
          code: 'ExpectedVersionConflict',
          expected: 5,
          actual: 0,
        });
        expect(await sut.readStream('node-2')).toEqual([]);
      });

      it("skips the version check for 'any'", async () => {
        await sut.append('node-1', 'any', someEvents(2));
        const result = await sut.append('node-1', 'any', someEvents(2));
        expect(result).toMatchObject({ streamVersion: 4, appended: 2 });
      });

      it('lets exactly one of two concurrent appends with the same expected version win', async () => {
        await sut.append('node-1', 0, someEvents(1));
        const outcomes = await Promise.allSettled([
          sut.append('node-1', 1, someEvents(2)),
          sut.append('node-1', 1, someEvents(3)),
        ]);
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o) => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(
          ExpectedVersionConflictError,
        );
        const versions = (await sut.readStream('node-1')).map((e) => e.streamVersion);
        expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
        expect([3, 4]).toContain(versions.length);
      });

      it('keeps streams apart, also when the stream id has dots, wildcards or spaces', async () => {
        const odd = 'node-1.a b*>~';
        await sut.append('node-1', 0, someEvents(1));
        await sut.append(odd, 0, someEvents(2));
        await sut.append('node-1.a', 0, someEvents(3));
        expect(await sut.readStream('node-1')).toHaveLength(1);
        expect((await sut.readStream(odd)).map((e) => e.streamId)).toEqual([odd, odd]);
        expect(await sut.readStream('node-1.a')).toHaveLength(3);
      });

      it('treats an empty batch as a version check that writes nothing', async () => {
        const first = await sut.append('node-1', 0, someEvents(2));
        expect(await sut.append('node-1', 2, [])).toEqual({
          streamVersion: 2,
          lastGlobalPosition: first.lastGlobalPosition,
          appended: 0,
        });
        expect(await rejectionOf(sut.append('node-1', 1, []))).toBeInstanceOf(
          ExpectedVersionConflictError,
        );
      });
    });

    describe('idempotency', () => {
      it('writes a retried batch once and answers with the original result, even with a stale expected version', async () => {
        const batch = someEvents(3);
        const original = await sut.append('node-1', 0, batch);
        await sut.append('node-1', 3, someEvents(1));

        const retried = await sut.append('node-1', 0, batch);

        expect(retried).toEqual({ ...original, appended: 0 });
        const ids = (await sut.readStream('node-1')).map((e) => e.id);
        expect(ids).toHaveLength(4);
        expect(new Set(ids).size).toBe(4);
      });

      it('writes the same single event id once when appended twice', async () => {
        const event = anEvent();
        await sut.append('node-1', 'any', [event]);
        const again = await sut.append('node-1', 'any', [event]);
        expect(again.appended).toBe(0);
        expect(await sut.readStream('node-1')).toHaveLength(1);
      });

      it('refuses a batch that mixes stored and new ids, naming the stored ones, and writes none of it', async () => {
        const stored = someEvents(2);
        await sut.append('node-1', 0, stored);
        const fresh = anEvent();

        const error = await rejectionOf(sut.append('node-1', 2, [stored[1]!, fresh]));

        expect(error).toBeInstanceOf(EventIdConflictError);
        expect(error).toMatchObject({
          code: 'EventIdConflict',
          retryable: false,
          knownIds: [stored[1]!.id],
        });
        expect((await sut.readStream('node-1')).map((e) => e.id)).toEqual(stored.map((e) => e.id));
      });

      it('refuses an event id that is already stored in another stream', async () => {
        const event = anEvent();
        await sut.append('node-1', 0, [event]);
        const error = await rejectionOf(sut.append('node-2', 0, [event]));
        expect(error).toBeInstanceOf(EventIdConflictError);
        expect(error).toMatchObject({ streamId: 'node-2', knownIds: [event.id] });
        expect(await sut.readStream('node-2')).toEqual([]);
      });

      it('answers an exact retry (same ids, same type, schemaVersion and data; other metadata, keys reordered) with the original result', async () => {
        const event = anEvent({ data: { a: 1, nested: { x: [1, { p: 1, q: 2 }], y: 'z' } } });
        const original = await sut.append('node-1', 0, [event]);

        const retried = await sut.append('node-1', 'any', [
          {
            ...event,
            data: { nested: { y: 'z', x: [1, { q: 2, p: 1 }] }, a: 1 },
            metadata: { occurredAt: '2026-11-25T11:00:00.000Z', actor: 'agent:node-1/boot-2' },
          },
        ]);

        expect(retried).toEqual({ ...original, appended: 0 });
        const stored = await sut.readStream('node-1');
        expect(stored).toHaveLength(1);
        expect(stored[0]?.metadata).toEqual(event.metadata);
      });

      it('refuses a stored id sent again with different data, naming id, stream and what differs, and keeps the original', async () => {
        const event = anEvent({ data: { target: 'tcp_v4_connect', cookie: 1 } });
        await sut.append('node-1', 0, [event]);

        const error = await rejectionOf(
          sut.append('node-1', 'any', [
            { ...event, data: { target: 'tcp_v4_connect', cookie: 2 } },
          ]),
        );

        expect(error).toBeInstanceOf(EventIdConflictError);
        expect(error).toMatchObject({
          code: 'EventIdConflict',
          retryable: false,
          streamId: 'node-1',
          knownIds: [event.id],
        });
        expect((error as Error).message).toContain(event.id);
        expect((error as Error).message).toContain('node-1');
        expect((error as Error).message).toContain('data differs');
        const stored = await sut.readStream('node-1');
        expect(stored).toHaveLength(1);
        expect(stored[0]).toMatchObject({ id: event.id, data: event.data });
      });

      it('refuses a retried batch whole when one stored id comes back with another type', async () => {
        const batch = someEvents(3);
        await sut.append('node-1', 0, batch);
        const changed = [batch[0]!, { ...batch[1]!, type: 'LinkRemoved' }, batch[2]!];

        const error = await rejectionOf(sut.append('node-1', 3, changed));

        expect(error).toBeInstanceOf(EventIdConflictError);
        expect(error).toMatchObject({ knownIds: [batch[1]!.id] });
        expect((error as Error).message).toContain('type differs');
        const stored = await sut.readStream('node-1');
        expect(stored.map((e) => [e.id, e.type])).toEqual(batch.map((e) => [e.id, e.type]));
        expect(await sut.headPosition()).toBe(stored[2]!.globalPosition);
      });

      it('refuses a stored id sent again with another schemaVersion', async () => {
        const event = anEvent();
        await sut.append('node-1', 0, [event]);
        const error = await rejectionOf(sut.append('node-1', 1, [{ ...event, schemaVersion: 2 }]));
        expect(error).toBeInstanceOf(EventIdConflictError);
        expect((error as Error).message).toContain('schemaVersion differs');
        expect((await sut.readStream('node-1'))[0]?.schemaVersion).toBe(1);
      });

      it('refuses a batch that repeats an id within itself', async () => {
        const event = anEvent();
        const error = await rejectionOf(sut.append('node-1', 0, [event, event]));
        expect(error).toBeInstanceOf(InvalidAppendError);
        expect((error as Error).message).toContain('events[1].id');
        expect(await sut.headPosition()).toBe(0);
      });
    });

    describe('input validation', () => {
      it.each([
        ['streamId', () => ['', 0, someEvents(1)]],
        ['expected', () => ['s', -1, someEvents(1)]],
        ['expected', () => ['s', 1.5, someEvents(1)]],
        ['events[0].id', () => ['s', 0, [{ ...anEvent(), id: '' }]]],
        ['events[0].schemaVersion', () => ['s', 0, [{ ...anEvent(), schemaVersion: 0 }]]],
        [
          'events[1].metadata.actor',
          () => ['s', 0, [anEvent(), { ...anEvent(), metadata: { occurredAt: 'x' } }]],
        ],
        ['events', () => ['s', 0, 'nope']],
      ] as const)('names %s when it is malformed', async (field, args) => {
        const [streamId, expected, events] = args() as unknown as Parameters<EventStore['append']>;
        const error = await rejectionOf(sut.append(streamId, expected, events));
        expect(error).toBeInstanceOf(InvalidAppendError);
        expect(error).toMatchObject({ field, retryable: false });
        expect(await sut.headPosition()).toBe(0);
      });
    });

    describe('read option validation', () => {
      it.each([
        ['fromVersion', () => sut.readStream('a', { fromVersion: 0 })],
        ['limit', () => sut.readStream('a', { limit: -1 })],
        ['after', () => drain(sut.readAll({ after: 1.5 }))],
        ['limit', () => drain(sut.readAll({ limit: Number.NaN }))],
        ['after', () => firstValueFrom(sut.subscribe(-3))],
      ] as const)('names %s when it is malformed', async (field, read) => {
        const error = await rejectionOf(read());
        expect(error).toBeInstanceOf(InvalidReadOptionsError);
        expect(error).toMatchObject({ field, code: 'InvalidReadOptions', retryable: false });
      });
    });

    describe('reading', () => {
      it('reads a stream from a version with a limit', async () => {
        await sut.append('node-1', 0, someEvents(5));
        const page = await sut.readStream('node-1', { fromVersion: 2, limit: 3 });
        expect(page.map((e) => e.streamVersion)).toEqual([2, 3, 4]);
      });

      it('reads all streams in one strictly increasing global order, after a position, with a limit', async () => {
        await sut.append('a', 0, someEvents(2));
        await sut.append('b', 0, someEvents(3));
        await sut.append('a', 2, someEvents(1));

        const all = await drain(sut.readAll());

        expect(all.map((e) => `${e.streamId}@${e.streamVersion}`)).toEqual([
          'a@1',
          'a@2',
          'b@1',
          'b@2',
          'b@3',
          'a@3',
        ]);
        const positions = all.map((e) => e.globalPosition);
        expect(positions.every((p, i) => i === 0 || p > positions[i - 1]!)).toBe(true);
        expect(await sut.headPosition()).toBe(positions.at(-1));
        const tail = await drain(sut.readAll({ after: positions[2]!, limit: 2 }));
        expect(tail.map((e) => e.globalPosition)).toEqual(positions.slice(3, 5));
      });

      it('reads a log larger than one page lazily and completely', async () => {
        for (let i = 0; i < 25; i++) await sut.append(`s-${i % 4}`, 'any', someEvents(100));
        let count = 0;
        let previous = 0;
        for await (const event of sut.readAll()) {
          expect(event.globalPosition).toBeGreaterThan(previous);
          previous = event.globalPosition;
          count++;
        }
        expect(count).toBe(2500);
        const first = await sut.readAll({ limit: 1 })[Symbol.asyncIterator]().next();
        expect(first.done).toBe(false);
      });
    });

    describe('subscribe', () => {
      it('catches up, then delivers live events with no gap and no duplicate at the hand-over', async () => {
        for (let i = 0; i < 10; i++) await sut.append(`s-${i % 3}`, 'any', someEvents(150));
        const received: RecordedEvent[] = [];
        const subscription = sut.subscribe().subscribe({ next: (e) => received.push(e) });
        // appends race with the catch-up
        for (let i = 0; i < 10; i++) await sut.append(`s-${i % 3}`, 'any', someEvents(15));
        await waitUntil('1650 events delivered', () => received.length >= 1650);
        await sut.append('late', 0, someEvents(2));
        await waitUntil('1652 events delivered', () => received.length >= 1652);
        subscription.unsubscribe();

        const all = await drain(sut.readAll());
        expect(received.map((e) => e.globalPosition)).toEqual(all.map((e) => e.globalPosition));
        expect(received.at(-1)?.streamId).toBe('late');
      });

      it('starts strictly after the given position', async () => {
        const first = await sut.append('a', 0, someEvents(3));
        await sut.append('a', 3, someEvents(2));
        const events = await firstValueFrom(
          sut.subscribe(first.lastGlobalPosition).pipe(take(2), toArray()),
        );
        expect(events.map((e) => e.streamVersion)).toEqual([4, 5]);
      });

      it('completes when the store closes', async () => {
        await sut.append('a', 0, someEvents(1));
        let completed = false;
        const received: RecordedEvent[] = [];
        sut
          .subscribe()
          .subscribe({ next: (e) => received.push(e), complete: () => (completed = true) });
        await waitUntil('the first event', () => received.length === 1);
        expect(await sut.close()).toBeUndefined();
        await waitUntil('completion', () => completed);
      });
    });

    describe('close', () => {
      it('refuses further calls with EventStoreClosedError and can be called twice', async () => {
        expect(await sut.close()).toBeUndefined();
        expect(await rejectionOf(sut.append('a', 0, someEvents(1)))).toBeInstanceOf(
          EventStoreClosedError,
        );
        expect(await rejectionOf(sut.headPosition())).toBeInstanceOf(EventStoreClosedError);
        expect(await rejectionOf(drain(sut.readAll()))).toBeInstanceOf(EventStoreClosedError);
      });
    });
  });
};
