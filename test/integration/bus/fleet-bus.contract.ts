import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/src/infra/errors.js';
import {
  BusClosedError,
  BusEncodingError,
  BusInvalidSubjectError,
  BusNoRespondersError,
  BusPayloadTooLargeError,
  BusReplyTooLargeError,
  BusResponderError,
  BusTimeoutError,
} from '../../../shared/src/infra/bus/fleet-bus.port.js';
import type {
  BusMessage,
  FleetBus,
  FleetBusOptions,
  PersistedMessage,
} from '../../../shared/src/infra/bus/fleet-bus.port.js';
import { waitUntil } from '../../support/wait-until.js';

/** Two ends of one bus: for in-process both are the same object; for NATS two connections. */
export interface BusPair {
  readonly sender: FleetBus;
  readonly receiver: FleetBus;
  readonly dispose: () => Promise<void>;
}

export type BusPairFactory = (options: FleetBusOptions) => Promise<BusPair>;

const collect = (bus: FleetBus, pattern: string): { seen: BusMessage[]; stop: () => void } => {
  const seen: BusMessage[] = [];
  const stop = bus.subscribe(pattern, (message) => {
    seen.push(message);
  });
  return { seen, stop };
};

/** The FleetBus conformance suite (STYLE.md §8, "contract suites"), run against every implementation. */
export const testFleetBus = (name: string, factory: BusPairFactory): void => {
  describe(`FleetBus contract: ${name}`, () => {
    let pair: BusPair;
    const handlerErrors: { error: unknown; subject: string }[] = [];

    beforeEach(async () => {
      handlerErrors.length = 0;
      pair = await factory({
        onHandlerError: (error, { subject }) => handlerErrors.push({ error, subject }),
      });
    });
    afterEach(async () => {
      await pair.dispose();
    });

    it('delivers a published JSON payload, as a copy, to a subscriber of that subject', async () => {
      const { receiver, sender } = pair;
      const { seen } = collect(receiver, 'tramway.facts.n1');
      await receiver.flush();
      const payload = { nodeId: 'n1', events: [{ id: 'e1', n: 1.5, ok: true, x: null }] };
      await sender.publish('tramway.facts.n1', payload);
      await waitUntil('delivery', () => seen.length === 1);
      expect(seen[0]).toEqual({ subject: 'tramway.facts.n1', payload });
      expect(seen[0]?.payload).not.toBe(payload);
    });

    it('matches "*" to exactly one token and ">" to one or more trailing tokens', async () => {
      const { receiver, sender } = pair;
      const star = collect(receiver, 'tramway.agent.*.plan');
      const tail = collect(receiver, 'tramway.agent.>');
      const end = collect(receiver, 'end');
      await receiver.flush();
      for (const subject of [
        'tramway.agent.n1.plan',
        'tramway.agent.n1.x.plan',
        'tramway.agent.n2.state',
        'tramway.agent',
        'tramway.facts.n1',
      ]) {
        await sender.publish(subject, subject);
      }
      await sender.publish('end', 'end');
      await waitUntil('the end marker', () => end.seen.length === 1);
      await waitUntil('every tail match', () => tail.seen.length === 3);
      expect(star.seen.map((m) => m.subject)).toEqual(['tramway.agent.n1.plan']);
      expect(tail.seen.map((m) => m.subject)).toEqual([
        'tramway.agent.n1.plan',
        'tramway.agent.n1.x.plan',
        'tramway.agent.n2.state',
      ]);
    });

    it('hands messages to one subscriber in publish order, awaiting each async handler', async () => {
      const { receiver, sender } = pair;
      const seen: number[] = [];
      let inFlight = 0;
      let maxInFlight = 0;
      receiver.subscribe('order', async ({ payload }) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, (payload as number) % 3));
        seen.push(payload as number);
        inFlight--;
      });
      await receiver.flush();
      for (let i = 0; i < 50; i++) await sender.publish('order', i);
      await waitUntil('50 messages', () => seen.length === 50);
      expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(maxInFlight).toBe(1);
    });

    it('never calls a handler inside the publisher call', async () => {
      const { receiver, sender } = pair;
      let calls = 0;
      receiver.subscribe('async', () => {
        calls++;
      });
      await receiver.flush();
      const publishing = sender.publish('async', 1);
      expect(calls).toBe(0);
      await publishing;
      await waitUntil('delivery', () => calls === 1);
    });

    it('stops delivering after unsubscribe', async () => {
      const { receiver, sender } = pair;
      const { seen, stop } = collect(receiver, 'unsub');
      const marker = collect(receiver, 'marker');
      await receiver.flush();
      await sender.publish('unsub', 1);
      await waitUntil('first', () => seen.length === 1);
      stop();
      stop();
      await receiver.flush();
      await sender.publish('unsub', 2);
      await sender.publish('marker', 0);
      await waitUntil('marker', () => marker.seen.length === 1);
      expect(seen.map((m) => m.payload)).toEqual([1]);
    });

    it('answers a request with what the responder returns, telling it the concrete subject', async () => {
      const { receiver, sender } = pair;
      receiver.respond('tramway.agent.*.plan', ({ subject, payload }) => ({
        subject,
        echo: payload,
      }));
      await receiver.flush();
      const reply = await sender.request('tramway.agent.n7.plan', { policyVersion: 3 });
      expect(reply).toEqual({ subject: 'tramway.agent.n7.plan', echo: { policyVersion: 3 } });
    });

    it('carries a null reply (and undefined as null)', async () => {
      const { receiver, sender } = pair;
      receiver.respond('tramway.coord.assignment', () => null);
      receiver.respond('void', () => undefined);
      await receiver.flush();
      expect(await sender.request('tramway.coord.assignment', { nodeId: 'n1' })).toBeNull();
      expect(await sender.request('void', {})).toBeNull();
    });

    it('awaits an async responder', async () => {
      const { receiver, sender } = pair;
      receiver.respond('slow', async ({ payload }) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return (payload as number) * 2;
      });
      await receiver.flush();
      expect(await sender.request('slow', 21)).toBe(42);
    });

    it('rejects with a retryable BusTimeoutError when the responder does not answer in time', async () => {
      const { receiver, sender } = pair;
      receiver.respond('stuck', () => new Promise((resolve) => setTimeout(resolve, 200)));
      await receiver.flush();
      const failure = await sender.request('stuck', {}, { timeoutMs: 50 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(BusTimeoutError);
      expect(failure).toMatchObject({ code: 'BusTimeout', retryable: true, subject: 'stuck' });
    });

    it('rejects with a retryable BusNoRespondersError when nobody responds on the subject', async () => {
      const failure = await pair.sender
        .request('tramway.agent.ghost.plan', {}, { timeoutMs: 2000 })
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(BusNoRespondersError);
      expect(failure).toMatchObject({ code: 'BusNoResponders', retryable: true });
    });

    it("passes a failing responder's code and retryability back to the requester", async () => {
      const { receiver, sender } = pair;
      receiver.respond('app-error', () => {
        throw new AppError('kernel busy', { code: 'KernelBusy', retryable: true });
      });
      receiver.respond('plain-error', () => Promise.reject(new Error('boom')));
      await receiver.flush();
      const appFailure = await sender.request('app-error', {}).catch((e: unknown) => e);
      expect(appFailure).toBeInstanceOf(BusResponderError);
      expect(appFailure).toMatchObject({
        code: 'ResponderFailed',
        remoteCode: 'KernelBusy',
        retryable: true,
      });
      expect((appFailure as Error).message).toContain('kernel busy');
      const plainFailure = await sender.request('plain-error', {}).catch((e: unknown) => e);
      expect(plainFailure).toMatchObject({
        code: 'ResponderFailed',
        remoteCode: 'ResponderFailed',
        retryable: false,
      });
      expect((plainFailure as Error).message).toContain('boom');
    });

    it('has exactly one of several responders answer each request', async () => {
      const { receiver, sender } = pair;
      const calls = { a: 0, b: 0 };
      receiver.respond('shared', () => ++calls.a);
      receiver.respond('shared', () => ++calls.b);
      await receiver.flush();
      for (let i = 0; i < 20; i++) await sender.request('shared', i);
      expect(calls.a + calls.b).toBe(20);
    });

    it('also hands a request to plain subscribers of its subject', async () => {
      const { receiver, sender } = pair;
      const { seen } = collect(receiver, 'tramway.agent.n1.assign');
      receiver.respond('tramway.agent.n1.assign', () => ({ accepted: true, generation: 1 }));
      await receiver.flush();
      expect(await sender.request('tramway.agent.n1.assign', { generation: 1 })).toEqual({
        accepted: true,
        generation: 1,
      });
      await waitUntil('the observer', () => seen.length === 1);
      expect(seen[0]?.payload).toEqual({ generation: 1 });
    });

    it('refuses invalid subjects and patterns with the reason', async () => {
      const { sender, receiver } = pair;
      await expect(sender.publish('a..b', 1)).rejects.toThrow(/token 2 is empty/);
      await expect(sender.publish('a.*', 1)).rejects.toBeInstanceOf(BusInvalidSubjectError);
      await expect(sender.publish('a b', 1)).rejects.toThrow(/whitespace/);
      await expect(sender.request('a.>', 1)).rejects.toThrow(/wildcard ">"/);
      expect(() => receiver.subscribe('a.>.b', () => undefined)).toThrow(/last token/);
      expect(() => receiver.respond('a.b*', () => 1)).toThrow(/whole tokens/);
    });

    it('refuses a payload JSON cannot carry, sending nothing', async () => {
      const { receiver, sender } = pair;
      const { seen } = collect(receiver, 'enc');
      const marker = collect(receiver, 'marker');
      await receiver.flush();
      await expect(sender.publish('enc', { cookie: 1n })).rejects.toBeInstanceOf(BusEncodingError);
      await sender.publish('marker', 0);
      await waitUntil('marker', () => marker.seen.length === 1);
      expect(seen).toEqual([]);
    });

    it('reports a throwing subscriber to onHandlerError and keeps delivering', async () => {
      const { receiver, sender } = pair;
      const seen: unknown[] = [];
      receiver.subscribe('flaky', ({ payload }) => {
        if (payload === 1) throw new Error('handler bug');
        seen.push(payload);
      });
      await receiver.flush();
      await sender.publish('flaky', 1);
      await sender.publish('flaky', 2);
      await waitUntil('second message', () => seen.length === 1);
      expect(seen).toEqual([2]);
      expect(handlerErrors).toHaveLength(1);
      expect(handlerErrors[0]?.subject).toBe('flaky');
      expect((handlerErrors[0]?.error as Error).message).toBe('handler bug');
    });

    it('answers a reply over the payload limit with ReplyTooLarge, and keeps responding', async () => {
      const { receiver, sender } = pair;
      receiver.respond('tramway.agent.n1.plan', ({ payload }) =>
        payload === 'big' ? { blob: 'x'.repeat(2 << 20) } : { small: payload },
      );
      await receiver.flush();
      const failure = await sender
        .request('tramway.agent.n1.plan', 'big', { timeoutMs: 2000 })
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(BusReplyTooLargeError);
      expect(failure).toMatchObject({ code: 'ReplyTooLarge', retryable: false });
      expect((failure as Error).message).toMatch(
        /reply is too large: \d+ bytes, over .* \d+ bytes/,
      );
      expect(await sender.request('tramway.agent.n1.plan', 'again', { timeoutMs: 2000 })).toEqual({
        small: 'again',
      });
      expect(handlerErrors).toEqual([]);
    });

    it('refuses a request or publish over the payload limit at the sender, sending nothing', async () => {
      const { receiver, sender } = pair;
      const { seen } = collect(receiver, 'huge');
      const marker = collect(receiver, 'marker');
      let answered = 0;
      receiver.respond('huge.req', () => ++answered);
      await receiver.flush();
      const blob = 'x'.repeat(2 << 20);
      const failure = await sender.request('huge.req', blob).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(BusPayloadTooLargeError);
      expect(failure).toMatchObject({ code: 'PayloadTooLarge', retryable: false });
      expect((failure as Error).message).toMatch(/is \d+ bytes, over the bus limit of \d+ bytes/);
      await expect(sender.publish('huge', blob)).rejects.toBeInstanceOf(BusPayloadTooLargeError);
      await sender.publish('marker', 0);
      await waitUntil('marker', () => marker.seen.length === 1);
      expect(seen).toEqual([]);
      expect(answered).toBe(0);
      expect(await sender.request('huge.req', 'small')).toBe(1);
    });

    // the durable stream (facts): one durable consumer name per subject filter, as the
    // coordinator's; ids unique per run (the stream's duplicate window outlives one test)
    const run = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

    it('persist: a message published before anyone consumes waits for the durable consumer, stored once per message id', async () => {
      const { receiver, sender } = pair;
      // NATS: the stream and the durable consumer exist once a consumer has run (the coordinator)
      (
        await receiver.consumePersisted('tramway.factlog.*', () => Promise.resolve(), {
          durable: 'tramway-coordinator',
        })
      )();
      expect(await sender.persist('tramway.factlog.n1', { n: 1 }, { msgId: `a-${run}` })).toEqual({
        duplicate: false,
      });
      expect(await sender.persist('tramway.factlog.n1', { n: 1 }, { msgId: `a-${run}` })).toEqual({
        duplicate: true,
      });
      expect(await sender.persist('tramway.factlog.n2', { n: 2 }, { msgId: `b-${run}` })).toEqual({
        duplicate: false,
      });
      const seen: PersistedMessage[] = [];
      const stop = await receiver.consumePersisted(
        'tramway.factlog.*',
        (m) => {
          seen.push(m);
          return Promise.resolve();
        },
        { durable: 'tramway-coordinator' },
      );
      await waitUntil('both', () => seen.length >= 2);
      stop();
      expect(seen.map((m) => [m.subject, m.payload, m.msgId, m.deliveries])).toEqual([
        ['tramway.factlog.n1', { n: 1 }, `a-${run}`, 1],
        ['tramway.factlog.n2', { n: 2 }, `b-${run}`, 1],
      ]);
    });

    it('consumePersisted: a handler that throws gets its message again after a backoff until it resolves', async () => {
      const { receiver, sender } = pair;
      const seen: [unknown, number][] = [];
      let failures = 0;
      const stop = await receiver.consumePersisted(
        'tramway.factlog.*',
        (m) => {
          seen.push([m.payload, m.deliveries]);
          if ((m.payload as { n: number }).n === 1 && failures++ < 2)
            return Promise.reject(new Error('log unavailable'));
          return Promise.resolve();
        },
        { durable: 'tramway-coordinator', retryMinMs: 20 },
      );
      await sender.persist('tramway.factlog.n1', { n: 1 }, { msgId: `c-${run}` });
      await sender.persist('tramway.factlog.n1', { n: 2 }, { msgId: `d-${run}` });
      await waitUntil('the first message taken, the second too', () => seen.length === 4);
      stop();
      // NATS delivers other messages meanwhile (the in-process stream waits): order aside, the
      // failed message came back until taken, the other once
      expect(seen.filter(([p]) => (p as { n: number }).n === 1)).toEqual([
        [{ n: 1 }, 1],
        [{ n: 1 }, 2],
        [{ n: 1 }, 3],
      ]);
      expect(seen.filter(([p]) => (p as { n: number }).n === 2)).toEqual([[{ n: 2 }, 1]]);
    });

    it('on close: rejects pending requests and later calls with BusClosedError', async () => {
      const { receiver, sender } = pair;
      receiver.respond(
        'late',
        () => new Promise((resolve) => setTimeout(() => resolve('too late'), 300)),
      );
      await receiver.flush();
      const waiting = sender.request('late', {}, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await sender.close();
      expect(await waiting).toBeInstanceOf(BusClosedError);
      await expect(sender.publish('x', 1)).rejects.toBeInstanceOf(BusClosedError);
      await expect(sender.request('x', 1)).rejects.toBeInstanceOf(BusClosedError);
      expect(() => sender.subscribe('x', () => undefined)).toThrow(BusClosedError);
      await sender.close();
    });
  });
};
