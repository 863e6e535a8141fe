import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { JetStreamEventStore } from '../../../shared/src/infra/event-store/jetstream-event-store.js';
import { idHash } from '../../../shared/src/infra/event-store/commit-codec.js';
import { startNatsServer } from '../../support/nats-server.js';
import { waitUntil } from '../../support/wait-until.js';
import type { NatsServerHandle } from '../../support/nats-server.js';
import { anEvent, someEvents, testEventStore } from './event-store.contract.js';

let server: NatsServerHandle;
beforeAll(async () => {
  // plain server: this contract is the store's / the bus's behaviour over NATS, which credentials
  // do not change (identities and permissions: test/security/)
  server = await startNatsServer({ secure: false });
});
afterAll(async () => {
  await server?.stop();
});

let n = 0;
/** A fresh JetStream stream (and subject prefix) per store, on the test's own nats-server. */
const freshStore = (): Promise<JetStreamEventStore> => {
  n++;
  return JetStreamEventStore.open({
    servers: server.url,
    streamName: `ES_${n}`,
    subjectPrefix: `es${n}`,
  });
};

/** Two stores (as two processes would open them) on one fresh stream named `<LABEL>_<n>`. */
const twoStoresOnOneStream = async (
  label: string,
): Promise<[JetStreamEventStore, JetStreamEventStore]> => {
  const options = {
    servers: server.url,
    streamName: `${label}_${++n}`,
    subjectPrefix: `${label.toLowerCase()}${n}`,
  };
  return [await JetStreamEventStore.open(options), await JetStreamEventStore.open(options)];
};

testEventStore('nats jetstream (real nats-server 2.9)', freshStore);

describe(JetStreamEventStore.name, () => {
  it('stores each append as ONE message and derives positions as seq * 1000 + index', async () => {
    const sut = await freshStore();
    await sut.append('a', 0, someEvents(3));
    const second = await sut.append('b', 0, someEvents(2));
    const all: number[] = [];
    for await (const event of sut.readAll()) all.push(event.globalPosition);
    expect(all).toEqual([1000, 1001, 1002, 2000, 2001]);
    expect(second.lastGlobalPosition).toBe(2001);
    expect(await sut.headPosition()).toBe(2001);
    await sut.close();
  });

  it('sees appends made by another process (store) and refuses the stale one', async () => {
    const [one, two] = await twoStoresOnOneStream('SHARED');
    await one.append('s', 0, someEvents(1));
    await two.append('s', 1, someEvents(1)); // two learns version 1 from the server
    await expect(one.append('s', 1, someEvents(1))).rejects.toMatchObject({
      code: 'ExpectedVersionConflict',
      actual: 2,
    });
    const result = await one.append('s', 2, someEvents(1));
    expect(result.streamVersion).toBe(3);
    expect((await two.readStream('s')).map((e) => e.streamVersion)).toEqual([1, 2, 3]);
    await one.close();
    await two.close();
  });

  it('recognises a retry from another process as already stored', async () => {
    const [one, two] = await twoStoresOnOneStream('RETRY');
    const batch = someEvents(2);
    const original = await one.append('s', 0, batch);
    await one.append('s', 2, someEvents(1));
    expect(await two.append('s', 0, batch)).toEqual({ ...original, appended: 0 });
    expect(await two.readStream('s')).toHaveLength(3);
    await one.close();
    await two.close();
  });

  it('refuses an id that another process stored with other data, also when the server dedups the publish', async () => {
    const [one, two] = await twoStoresOnOneStream('DEDUP');
    const event = anEvent({ data: { cookie: 1 } });
    await one.append('s', 0, [event]);
    // `two` knows nothing of "s": expected 0 publishes at once, and the server's duplicate
    // window answers with the stored message instead of storing this one
    const error = await two.append('s', 0, [{ ...event, data: { cookie: 2 } }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'EventIdConflict', knownIds: [event.id] });
    expect((error as Error).message).toContain('data differs');
    expect(await two.append('s', 0, [event])).toMatchObject({ appended: 0, streamVersion: 1 });
    expect((await one.readStream('s')).map((e) => e.data)).toEqual([{ cookie: 1 }]);
    await one.close();
    await two.close();
  });

  it('appends a new id whose hash collides with a stored id (the hash hit is checked against the stream)', async () => {
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const id = `collide-${i}`;
      const other = seen.get(idHash(id));
      if (other !== undefined) pair = [other, id];
      else seen.set(idHash(id), id);
    }
    const sut = await freshStore();
    await sut.append('a', 0, [anEvent({ id: pair[0] })]);
    const result = await sut.append('a', 1, [anEvent({ id: pair[1] })]);
    expect(result).toMatchObject({ streamVersion: 2, appended: 1 });
    expect((await sut.readStream('a')).map((e) => e.id)).toEqual(pair);
    await sut.close();
  });

  it('refuses more than 1000 events in one append', async () => {
    const sut = await freshStore();
    await expect(sut.append('a', 0, someEvents(1001))).rejects.toMatchObject({
      code: 'InvalidAppend',
      field: 'events',
    });
    await sut.close();
  });

  it('refuses a commit larger than the server max_payload as invalid, not retryable', async () => {
    const sut = await freshStore();
    await expect(
      sut.append('a', 0, [anEvent({ data: 'x'.repeat(1_100_000) })]),
    ).rejects.toMatchObject({ code: 'InvalidAppend', retryable: false });
    expect(await sut.append('a', 0, someEvents(1))).toMatchObject({ streamVersion: 1 });
    await sut.close();
  });

  it('leaves no consumer behind after reads and subscriptions', async () => {
    const sut = await freshStore();
    await sut.append('a', 0, someEvents(2));
    for (let i = 0; i < 5; i++) await sut.readStream('a');
    for await (const _ of sut.readAll()) void _;
    const subscription = sut.subscribe().subscribe();
    await new Promise((resolve) => setTimeout(resolve, 100));
    subscription.unsubscribe();
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await waitUntil('ordered consumers deleted', async () =>
      (await jsm.streams.info(`ES_${n}`)).state.consumer_count === 0 ? true : undefined,
    );
    await nc.close();
    await sut.close();
  });

  it('reports a malformed message by its position and still reads the rest', async () => {
    const sut = await freshStore();
    await sut.append('a', 0, [anEvent()]);
    const nc = await connect({ servers: server.url });
    await jetstream(nc).publish(`es${n}.a`, '{"streamId": "a", "version": 2, "events": [');
    await nc.close();
    await sut.append('b', 0, [anEvent()]);

    const skipped: unknown[] = [];
    const read: number[] = [];
    for await (const e of sut.readAll({ onCorrupt: (error) => skipped.push(error) })) {
      read.push(e.globalPosition);
    }
    expect(read).toEqual([1000, 3000]);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ code: 'CorruptEvent', position: 2000, resumeAfter: 2999 });
    expect((skipped[0] as Error).message).toContain('seq 2');

    const iterator = sut.readAll()[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ globalPosition: 1000 });
    await expect(iterator.next()).rejects.toMatchObject({ code: 'CorruptEvent', position: 2000 });
    const rest: number[] = [];
    for await (const e of sut.readAll({ after: 2999 })) rest.push(e.globalPosition);
    expect(rest).toEqual([3000]);
    await expect(sut.readStream('a')).rejects.toMatchObject({ code: 'CorruptEvent' });
    await sut.close();
  });
});
