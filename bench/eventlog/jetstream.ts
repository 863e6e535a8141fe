/**
 * JetStream append rate: JetStreamEventStore against the raw pipelined JetStream client measured
 * in the same run, on a nats-server this section starts on a free loopback port (fresh store dir,
 * stopped by pid at the end). Size: events / 10 (100,000 at the default 1,000,000): JetStream is
 * 10-50x slower than SQLite here (eventlog-notes §0).
 *
 * - baseline `raw`: `js.publish` with a Nats-Msg-Id per message, 1000 in flight (sliding
 *   window), `noAsyncTraces`, the same bodies the store would publish (a one-event commit),
 *   spread over 10,000 subjects, and the `Nats-Expected-Last-Subject-Sequence` header every
 *   store append carries (the subject's last sequence, kept from the acks): the server checks
 *   it for both, so the baseline does what a real append must, no less;
 * - store: `append(stream, expectedVersion, [event])` over 10,000 event streams, 1000 appends
 *   in flight. Appends to ONE stream are serialised by the store (each needs the previous one's
 *   sequence for its OCC header), so the pipeline only fills when the in-flight appends are
 *   spread over more streams than the window (10,000 streams for a window of 1000);
 * - `jetstreamAppendRatio` = store / raw (target >= 0.8): raw and store runs alternated 3 times,
 *   each on a fresh JetStream stream, medians; an extra row appends 10 events per call.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { JetStreamEventStore } from '../../shared/src/infra/event-store/jetstream-event-store.js';
import { encodeCommit } from '../../shared/src/infra/event-store/commit-codec.js';
import { startNatsServer } from '../../test/support/nats-server.js';
import type { BenchOptions, BenchSection } from '../eventlog.bench.js';
import { benchEvent, median } from './append.js';

const STREAMS = 10_000;
const WINDOW = 1000;
const REPEATS = 3;

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
  // plain: the security cost is measured separately (issue 10 bench)
  const server = await startNatsServer({ secure: false });
  try {
    const nc = await connect({ servers: server.url, noAsyncTraces: true });
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const recordedAt = new Date().toISOString();
    const rawRun = async (r: number): Promise<number> => {
      await jsm.streams.add({
        name: `RAW${r}`,
        subjects: [`raw${r}.*`],
        duplicate_window: nanos(600_000),
      });
      // the sequence of each subject's last message: sent as the OCC header, as the store does
      const lastSeq = new Array<number>(STREAMS).fill(0);
      return pipelined(count, WINDOW, 1, async (i) => {
        const event = benchEvent(`raw${r}`, i);
        const slot = i % STREAMS;
        const stream = `s-${slot}`;
        const body = encodeCommit({
          streamId: stream,
          version: Math.floor(i / STREAMS) + 1,
          recordedAt,
          events: [event],
        });
        const ack = await js.publish(`raw${r}.${stream}`, body, {
          msgID: event.id,
          expect: { lastSubjectSequence: lastSeq[slot] ?? 0 },
        });
        lastSeq[slot] = ack.seq;
      });
    };
    const storeRun = async (r: number, batch: number): Promise<number> => {
      const store = await JetStreamEventStore.open({
        servers: server.url,
        streamName: `STORE${r}_${batch}`,
        subjectPrefix: `store${r}b${batch}`,
      });
      const appends = Math.max(100, Math.floor(count / batch));
      const value = await pipelined(appends, WINDOW, batch, (i) =>
        store.append(
          `s-${i % STREAMS}`,
          Math.floor(i / STREAMS) * batch,
          Array.from({ length: batch }, (_, j) => benchEvent(`st${r}b${batch}`, i * batch + j)),
        ),
      );
      const closeError = await store.close();
      if (closeError !== undefined) throw closeError;
      return value;
    };
    // alternate raw and store runs (each on a fresh JetStream stream), medians of 3
    const raws: number[] = [];
    const stores: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      raws.push(await rawRun(r));
      stores.push(await storeRun(r, 1));
    }
    await nc.close();
    const batchRate = await storeRun(0, 10);
    const rawRate = median(raws);
    const storeRate = median(stores);

    const jetstreamAppendRatio = storeRate / rawRate;
    return {
      rows: [
        {
          name: `jetstream append 1 ev/append vs raw pipelined publish (${count}, median of ${REPEATS})`,
          value: storeRate,
          unit: 'events/s',
          baseline: rawRate,
          ratio: jetstreamAppendRatio,
        },
        {
          name: `jetstream append 10 ev/append vs the same raw (${count})`,
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
