/**
 * The cost of TLS + NKey authentication on JetStream appends (issue 10, "Must show"): the same
 * `JetStreamEventStore.append` load against two nats-servers started by this section, one plain
 * and one secured as a deployment is (`tramway security init`: TLS with the fleet CA, the
 * coordinator's NKey user, node permissions), in the same run. Size: events / 20 appends per run
 * (50,000 at the default 1,000,000), 256 in flight over 4,096 streams; plain and secured runs
 * alternate 3 times, each on a fresh stream, medians.
 *
 * - `jetstreamSecureAppendRatio` = secured / plain appends per second (1.0 = free; the target is
 *   the cost staying small next to the store's own work, >= 0.8).
 * - the connect (TLS handshake + NKey challenge) is timed too, as a median of 5 connects each.
 */
import { JetStreamEventStore } from '../../shared/src/infra/event-store/jetstream-event-store.js';
import { connectNats } from '../../shared/src/infra/nats/nats-connection.js';
import type { NatsCredentials } from '../../shared/src/infra/index.js';
import { startNatsServer } from '../../test/support/nats-server.js';
import type { NatsServerHandle } from '../../test/support/nats-server.js';
import type { BenchOptions, BenchSection } from '../eventlog.bench.js';
import { benchEvent, median } from './append.js';

const STREAMS = 4096;
const WINDOW = 256;
const REPEATS = 3;
const CONNECTS = 5;

const pipelined = async (n: number, task: (i: number) => Promise<unknown>): Promise<number> => {
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, n) }, worker));
  return Math.round(n / (Number(process.hrtime.bigint() - start) / 1e9));
};

const appendRun = async (
  server: NatsServerHandle,
  label: string,
  count: number,
): Promise<number> => {
  const store = await JetStreamEventStore.open({
    servers: server.url,
    credentials: server.credentials(),
    streamName: `SEC_${label}`,
    subjectPrefix: `sec${label}`,
  });
  try {
    return await pipelined(count, (i) =>
      store.append(`s-${i % STREAMS}`, Math.floor(i / STREAMS), [benchEvent(`sec${label}`, i)]),
    );
  } finally {
    const closeError = await store.close();
    if (closeError !== undefined) throw closeError;
  }
};

/** median milliseconds of connect + flush + close */
const connectMs = async (
  url: string,
  credentials: NatsCredentials | undefined,
): Promise<number> => {
  const times: number[] = [];
  for (let i = 0; i < CONNECTS; i++) {
    const start = performance.now();
    const nc = await connectNats(url, { credentials });
    await nc.flush();
    times.push(performance.now() - start);
    await nc.close();
  }
  return median(times);
};

export const run = async ({ events }: BenchOptions): Promise<BenchSection> => {
  const count = Math.max(1000, Math.floor(events / 20));
  const plain = await startNatsServer({ secure: false });
  const secured = await startNatsServer();
  try {
    const plainRates: number[] = [];
    const securedRates: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      plainRates.push(await appendRun(plain, `P${r}`, count));
      securedRates.push(await appendRun(secured, `S${r}`, count));
    }
    const plainRate = median(plainRates);
    const securedRate = median(securedRates);
    const plainConnect = await connectMs(plain.url, undefined);
    const securedConnect = await connectMs(secured.url, secured.credentials());
    const jetstreamSecureAppendRatio = securedRate / plainRate;
    return {
      rows: [
        {
          name: `jetstream append, TLS + NKey vs plain (${count}, median of ${REPEATS})`,
          value: securedRate,
          unit: 'events/s',
          baseline: plainRate,
          ratio: jetstreamSecureAppendRatio,
        },
        {
          name: `nats connect, TLS + NKey vs plain (median of ${CONNECTS})`,
          value: securedConnect,
          unit: 'ms',
          baseline: plainConnect,
          ratio: securedConnect / plainConnect,
        },
      ],
      json: {
        jetstreamSecureAppendRatio,
        jetstreamSecureAppendPerSec: securedRate,
        jetstreamPlainAppendPerSec: plainRate,
        natsSecureConnectMs: securedConnect,
        natsPlainConnectMs: plainConnect,
      },
    };
  } finally {
    await plain.stop();
    await secured.stop();
  }
};
