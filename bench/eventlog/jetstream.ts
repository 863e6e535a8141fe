/**
 * JetStream append rate: JetStreamEventStore against the raw pipelined JetStream client measured
 * in the same run, on a nats-server this section starts on a free loopback port (fresh store dir,
 * stopped by pid at the end). Size: events / 10 (100,000 at the default 1,000,000): JetStream is
 * 10-50x slower than SQLite here (eventlog-notes §0).
 *
 * - baseline `raw`: `js.publish` with a Nats-Msg-Id per message, 1000 in flight (sliding
 *   window), `noAsyncTraces`, the same bodies the store would publish (a one-event commit),
 *   spread over 1000 subjects;
 * - store: `append(stream, expectedVersion, [event])` over 1000 event streams, 1000 appends in
 *   flight (appends to one stream are serialised by the store, so each stream has one in flight);
 * - `jetstreamAppendRatio` = store / raw (target >= 0.8); an extra row appends 10 events per call.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { JetStreamEventStore } from '../../shared/src/infra/event-store/jetstream-event-store.js';
import { encodeCommit } from '../../shared/src/infra/event-store/commit-codec.js';
import { startNatsServer } from '../../test/support/nats-server.js';
import type { BenchOptions, BenchSection } from '../eventlog.bench.js';
import { benchEvent } from './append.js';

const STREAMS = 1000;
const WINDOW = 1000;

/** Runs `task(i)` for i in [0, n) with at most `window` in flight; resolves with events/s. */
const pipelined = async (
  n: number,
  window: number,
  eventsPerTask: number,
  task: (i: number) => Promise<unknown>,
): Promise<number> => {
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, n) }, worker));
  return Math.round((n * eventsPerTask) / (Number(process.hrtime.bigint() - start) / 1e9));
};

export const run = async ({ events }: BenchOptions): Promise<BenchSection> => {
  const count = Math.max(1000, Math.floor(events / 10));
  const server = await startNatsServer();
  try {
    const nc = await connect({ servers: server.url, noAsyncTraces: true });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'RAW', subjects: ['raw.*'], duplicate_window: nanos(600_000) });
    const js = jetstream(nc);
    const recordedAt = new Date().toISOString();
    const rawRate = await pipelined(count, WINDOW, 1, (i) => {
      const event = benchEvent('raw', i);
      const stream = `s-${i % STREAMS}`;
      const body = encodeCommit({
        streamId: stream,
        version: Math.floor(i / STREAMS) + 1,
        recordedAt,
        events: [event],
      });
      return js.publish(`raw.${stream}`, body, { msgID: event.id });
    });
    await nc.close();

    const store = await JetStreamEventStore.open({
      servers: server.url,
      streamName: 'STORE',
      subjectPrefix: 'store',
    });
    const storeRate = await pipelined(count, WINDOW, 1, (i) =>
      store.append(`s-${i % STREAMS}`, Math.floor(i / STREAMS), [benchEvent('one', i)]),
    );
    const batches = Math.max(100, Math.floor(count / 10));
    const batchRate = await pipelined(batches, WINDOW, 10, (i) =>
      store.append(
        `b-${i % STREAMS}`,
        Math.floor(i / STREAMS) * 10,
        Array.from({ length: 10 }, (_, j) => benchEvent('ten', i * 10 + j)),
      ),
    );
    const closeError = await store.close();
    if (closeError !== undefined) throw closeError;

    const jetstreamAppendRatio = storeRate / rawRate;
    return {
      rows: [
        {
          name: `jetstream raw pipelined publish, msgID, window ${WINDOW} (${count})`,
          value: rawRate,
          unit: 'msgs/s',
        },
        {
          name: `JetStreamEventStore.append, 1 event/append (${count})`,
          value: storeRate,
          unit: 'events/s',
          baseline: rawRate,
          ratio: jetstreamAppendRatio,
        },
        {
          name: `JetStreamEventStore.append, 10 events/append (${batches * 10})`,
          value: batchRate,
          unit: 'events/s',
          baseline: rawRate,
          ratio: batchRate / rawRate,
        },
        {
          name: 'jetstreamAppendRatio (target >= 0.8)',
          value: jetstreamAppendRatio,
          unit: 'ratio',
        },
      ],
      json: {
        jetstreamAppendRatio,
        jetstreamAppendPerSec: storeRate,
        jetstreamRawPublishPerSec: rawRate,
        jetstreamAppend10EventsPerSec: batchRate,
      },
    };
  } finally {
    await server.stop();
  }
};
