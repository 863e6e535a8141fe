import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '../../../shared/src/infra/event-store/sqlite-event-store.js';
import { JetStreamEventStore } from '../../../shared/src/infra/event-store/jetstream-event-store.js';
import { CorruptEventError } from '../../../shared/src/infra/errors.js';
import type { EventStore } from '../../../shared/src/infra/event-store/event-store.port.js';
import type { RecordedEvent } from '../../../shared/src/lib/event-envelope.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { startNatsServer } from '../../support/nats-server.js';
import type { NatsServerHandle } from '../../support/nats-server.js';
import { waitUntil } from '../../support/wait-until.js';
import { someEvents } from './event-store.contract.js';
import type { WriterConfig } from './fixtures/event-store-writer.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WRITER = fileURLToPath(new URL('./fixtures/event-store-writer.ts', import.meta.url));
const BATCH = 5;

const dir = makeTempDir('tramway-reliability-');
let nats: NatsServerHandle;
beforeAll(async () => {
  // plain server: this contract is the store's / the bus's behaviour over NATS, which credentials
  // do not change (identities and permissions: test/security/)
  nats = await startNatsServer({ secure: false });
});
afterAll(async () => {
  await nats?.stop();
  dir.remove();
});

/** A writer child process (tsx) with its stdout split into lines. */
interface Writer {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly stderr: () => string;
  readonly send: (line: string) => void;
  readonly exited: Promise<void>;
  /** the exit code once the process has ended (undefined while it runs) */
  readonly exitCode: () => number | null | undefined;
}

const startWriter = (config: WriterConfig): Writer => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@tramway/source', WRITER, JSON.stringify(config)],
    { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let pending = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // resolves once stdout is fully read: every printed ack is in `lines`
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('close', (code) => {
      exitCode = code;
      resolve();
    }),
  );
  return {
    child,
    lines,
    stderr: () => stderr,
    send: (line) => child.stdin?.write(`${line}\n`),
    exited,
    exitCode: () => exitCode,
  };
};

const readEverything = async (store: EventStore): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const event of store.readAll()) out.push(event); // throws on a torn/corrupt event
  return out;
};

interface AdapterUnderTest {
  readonly name: string;
  readonly config: () => WriterConfig['adapter'];
  readonly open: (adapter: WriterConfig['adapter']) => Promise<EventStore>;
}

let streamCounter = 0;
const ADAPTERS: readonly AdapterUnderTest[] = [
  {
    name: 'sqlite',
    config: () => ({ kind: 'sqlite', path: dir.file(`log-${++streamCounter}.sqlite`) }),
    open: (a) => SqliteEventStore.open({ path: (a as { path: string }).path }),
  },
  {
    name: 'jetstream',
    config: () => ({
      kind: 'jetstream',
      url: nats.url,
      stream: `REL_${++streamCounter}`,
      prefix: `rel${streamCounter}`,
    }),
    open: (a) => {
      const js = a as { url: string; stream: string; prefix: string };
      return JetStreamEventStore.open({
        servers: js.url,
        streamName: js.stream,
        subjectPrefix: js.prefix,
      });
    },
  },
];

describe.each(ADAPTERS)('event store reliability: $name', (adapterUnderTest) => {
  it('keeps every acknowledged event, and no torn batch, after the writer is SIGKILLed mid-append', async () => {
    const adapter = adapterUnderTest.config();
    // Given a writer appending batches of 5 in a loop
    const writer = startWriter({
      adapter,
      mode: 'loop',
      name: 'w',
      streamId: 'kill',
      batchSize: BATCH,
    });
    await waitUntil('300 acknowledged events', () => writer.lines.length >= 301, {
      timeoutMs: 30_000,
    });
    // When it is killed without warning
    writer.child.kill('SIGKILL');
    await writer.exited;
    const acked = writer.lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4));

    // Then, reopened, the log holds every acknowledged event and only whole batches
    const store = await adapterUnderTest.open(adapter);
    const events = await readEverything(store);
    const stored = new Set(events.map((e) => e.id));
    expect(acked.length).toBeGreaterThanOrEqual(300);
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);
    const perBatch = new Map<string, number>();
    for (const e of events) {
      const batch = e.id.slice(0, e.id.lastIndexOf('-'));
      perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
    }
    expect([...perBatch.values()].every((count) => count === BATCH)).toBe(true);
    const byStream = new Map<string, RecordedEvent[]>();
    for (const e of events) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
    for (const streamEvents of byStream.values()) {
      expect(streamEvents.map((e) => e.streamVersion)).toEqual(streamEvents.map((_, i) => i + 1));
    }
    // and the store still takes appends
    const stream = events[0]?.streamId ?? 'kill-0';
    const version = byStream.get(stream)?.length ?? 0;
    await expect(store.append(stream, version, someEvents(1))).resolves.toMatchObject({
      streamVersion: version + 1,
    });
    expect(await store.close()).toBeUndefined();
  }, 60_000);

  it('lets exactly one of two racing writer processes win each version; the other gets a conflict', async () => {
    const adapter = adapterUnderTest.config();
    const a = startWriter({ adapter, mode: 'race', name: 'a', streamId: 'race' });
    const b = startWriter({ adapter, mode: 'race', name: 'b', streamId: 'race' });
    const writers = [a, b];
    // A writer that ended fails the wait at once, with its stderr: the flake this test had
    // (a writer that never printed "started" within 60 s) was a writer that had crashed opening
    // the new SQLite file at the same time as the other (migrate-folder.ts, now one locked
    // transaction; sqlite-migrate-race.int.test.ts), which the wait did not see.
    const lineOf = async (w: Writer, prefix: string): Promise<string> => {
      const line = await waitUntil(
        `"${prefix}" from a writer`,
        () =>
          w.lines.find((l) => l.startsWith(prefix)) ?? (w.exitCode() !== undefined || undefined),
        // child start-up (tsx) is slow when the whole integration tier shares 2 cores
        { timeoutMs: 60_000 },
      );
      if (line === true)
        throw new Error(
          `the writer exited (${String(w.exitCode())}) before "${prefix}": ${w.stderr()}`,
        );
      return line;
    };
    await Promise.all(writers.map((w) => lineOf(w, 'started')));

    const ROUNDS = 12;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const w of writers) w.send(`round ${round}`);
      const ready = await Promise.all(writers.map((w) => lineOf(w, `ready ${round} `)));
      expect(ready[0]?.split(' ')[2]).toBe(String(round - 1));
      expect(ready[1]?.split(' ')[2]).toBe(String(round - 1));
      for (const w of writers) w.send(`go ${round}`);
      const outcomes = await Promise.all(
        writers.map((w) =>
          waitUntil(`round ${round} outcome`, () =>
            w.lines.find(
              (l) => l.startsWith(`won ${round} `) || l.startsWith(`conflict ${round} `),
            ),
          ),
        ),
      );
      const won = outcomes.filter((o) => o.startsWith('won'));
      const lost = outcomes.filter((o) => o.startsWith('conflict'));
      expect(won).toEqual([`won ${round} ${round}`]);
      expect(lost).toEqual([`conflict ${round} ${round - 1} ${round}`]);
    }

    // the same event id appended by both at once is stored once
    for (const w of writers) w.send('same 99 shared-event-id');
    const same = await Promise.all(writers.map((w) => lineOf(w, 'same 99 ')));
    expect(same.map((l) => Number(l.split(' ')[2])).sort()).toEqual([0, 1]);

    for (const w of writers) w.send('exit');
    await Promise.all(writers.map((w) => w.exited));
    const store = await adapterUnderTest.open(adapter);
    const stream = await store.readStream('race');
    expect(stream.map((e) => e.streamVersion)).toEqual(
      Array.from({ length: ROUNDS + 1 }, (_, i) => i + 1),
    );
    expect(stream.filter((e) => e.id === 'shared-event-id')).toHaveLength(1);
    expect(await store.close()).toBeUndefined();
  }, 90_000);
});

describe('corrupt entries', () => {
  it('sqlite: a row with invalid JSON is reported by position, and the rest stays readable', async () => {
    const path = dir.file('corrupt.sqlite');
    const writer = await SqliteEventStore.open({ path });
    await writer.append('a', 0, someEvents(3));
    await writer.append('b', 0, someEvents(2));
    await writer.close();
    const raw = new Database(path);
    raw.prepare(`UPDATE events SET data = '{"broken' WHERE global_position = 2`).run();
    raw.close();

    const sut = await SqliteEventStore.open({ path });
    const iterator = sut.readAll()[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ globalPosition: 1 });
    const error = await iterator.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CorruptEventError);
    expect(error).toMatchObject({ position: 2, resumeAfter: 2, retryable: false });
    expect((error as Error).message).toContain('global_position=2');
    expect((error as Error).message).toContain('stream "a" version 2');

    const skipped: CorruptEventError[] = [];
    const readable: number[] = [];
    for await (const e of sut.readAll({ onCorrupt: (c) => skipped.push(c) })) {
      readable.push(e.globalPosition);
    }
    expect(readable).toEqual([1, 3, 4, 5]);
    expect(skipped.map((c) => c.position)).toEqual([2]);
    expect(await sut.readStream('b')).toHaveLength(2);
    await expect(sut.readStream('a')).rejects.toBeInstanceOf(CorruptEventError);

    const delivered: number[] = [];
    const failure = await new Promise<unknown>((resolve) =>
      sut.subscribe().subscribe({ next: (e) => delivered.push(e.globalPosition), error: resolve }),
    );
    expect(delivered).toEqual([1]);
    expect(failure).toMatchObject({ code: 'CorruptEvent', position: 2 });
    await sut.close();
  }, 120_000);

  it('jetstream: a malformed message fails a subscription naming its position', async () => {
    const sut = await JetStreamEventStore.open({
      servers: nats.url,
      streamName: 'CORRUPT_SUB',
      subjectPrefix: 'corruptsub',
    });
    await sut.append('a', 0, someEvents(2));
    const nc = await connect({ servers: nats.url });
    await jetstream(nc).publish('corruptsub.a', 'not json at all');
    await nc.close();

    const delivered: number[] = [];
    const failure = await new Promise<unknown>((resolve) =>
      sut.subscribe().subscribe({ next: (e) => delivered.push(e.globalPosition), error: resolve }),
    );
    expect(delivered).toEqual([1000, 1001]);
    expect(failure).toMatchObject({ code: 'CorruptEvent', position: 2000, resumeAfter: 2999 });
    expect((failure as Error).message).toContain('message seq 2');
    await sut.close();
  });
});
