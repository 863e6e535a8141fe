/**
 * Facts through NATS: `npm run bench:facts -- [--facts N] [--json]` (default 20,000 facts).
 * One plain nats-server on a free loopback port; the same one-fact `FactBatch` messages of a node
 * sent four ways, in the same run:
 *  - baseline `core`: core NATS publish to a subscriber (at most once, no ack), until the
 *    subscriber has them all;
 *  - `persist`: `FleetBus.persist` to the JetStream facts stream, 256 in flight, until every PubAck;
 *  - `persist+consume`: the same, until the durable consumer (explicit ack) has taken them all;
 *  - `outbox`: the agent's fact outbox (memory state store) until the stream acknowledged all.
 * Prints facts/s for each and its ratio to the baseline; `--json` prints one JSON object.
 */
import { FACTS_CONSUMER, FleetSubjects, encodeFleetEvent } from '../shared/src/contracts/index.js';
import type { FleetBus } from '../shared/src/infra/index.js';
import { connectNatsBus, silentLogger } from '../shared/src/infra/index.js';
import type { NewEvent } from '../shared/src/lib/index.js';
import { createFactOutbox } from '../services/agent/src/facts/fact-outbox.js';
import { moduleLoaded } from '../services/agent/src/facts/node-facts.js';
import { createMemoryStateStore } from '../services/agent/src/state/agent-state.store.js';
import { startNatsServer } from '../test/support/nats-server.js';

const parseArgs = (args: readonly string[]): { facts: number; json: boolean } => {
  let facts = 20_000;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--json') json = true;
    else if (arg === '--facts') {
      const n = Number(args[++i]);
      if (!Number.isInteger(n) || n < 100 || n > 10_000_000)
        throw new Error(`--facts needs an integer from 100 to 10,000,000, got ${args[i]}`);
      facts = n;
    } else throw new Error(`unknown argument ${arg}; usage: facts.bench.ts [--facts N] [--json]`);
  }
  return { facts, json };
};

const NODE = 'bench-1';
const scope = { nodeId: NODE, bootId: 'boot-1' };

const eventsOf = (n: number, round: string): NewEvent[] =>
  Array.from({ length: n }, (_, i) => {
    const f = moduleLoaded(scope, `${round}_${i}`, i + 1);
    return encodeFleetEvent(f.event, {
      id: f.id,
      metadata: { occurredAt: '2026-01-01T00:00:00.000Z', actor: `agent:${NODE}` },
    }).event;
  });

const batchOf = (e: NewEvent) => ({ nodeId: NODE, bootId: 'boot-1', events: [e] });

const waitFor = async (done: () => boolean, what: string, timeoutMs = 300_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

const core = async (
  bus: FleetBus,
  sink: FleetBus,
  events: readonly NewEvent[],
): Promise<number> => {
  let received = 0;
  const stop = sink.subscribe(FleetSubjects.facts(NODE), () => {
    received += 1;
  });
  await sink.flush();
  const start = performance.now();
  for (const e of events) await bus.publish(FleetSubjects.facts(NODE), batchOf(e));
  await waitFor(() => received >= events.length, 'core NATS delivery');
  const ms = performance.now() - start;
  stop();
  return ms;
};

const persist = async (
  bus: FleetBus,
  events: readonly NewEvent[],
  consumed: () => number,
): Promise<{ ackMs: number; consumedMs: number }> => {
  const start = performance.now();
  const target = consumed() + events.length;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < events.length) {
      const e = events[next++]!;
      await bus.persist(FleetSubjects.factLog(NODE), batchOf(e), { msgId: e.id });
    }
  };
  await Promise.all(Array.from({ length: 256 }, worker));
  const ackMs = performance.now() - start;
  await waitFor(() => consumed() >= target, 'the durable consumer');
  return { ackMs, consumedMs: performance.now() - start };
};

const main = async (): Promise<void> => {
  const { facts, json } = parseArgs(process.argv.slice(2));
  const server = await startNatsServer({ secure: false });
  const buses: FleetBus[] = [];
  try {
    const open = async (name: string) => {
      const b = await connectNatsBus(server.url, { name });
      buses.push(b);
      return b;
    };
    const agent = await open('agent');
    const coordinator = await open('coordinator');
    let consumed = 0;
    const stop = await coordinator.consumePersisted(
      FleetSubjects.allFactLogs(),
      () => {
        consumed += 1;
        return Promise.resolve();
      },
      { durable: FACTS_CONSUMER },
    );

    const coreMs = await core(agent, coordinator, eventsOf(facts, 'core'));
    const js = await persist(agent, eventsOf(facts, 'js'), () => consumed);

    const store = createMemoryStateStore();
    store.resetBoot('boot-1');
    const outbox = createFactOutbox({
      nodeId: NODE,
      bootId: () => 'boot-1',
      bus: agent,
      store,
      now: () => new Date(0),
      log: silentLogger,
    });
    const outboxFacts = Array.from({ length: facts }, (_, i) => moduleLoaded(scope, `ob_${i}`, i));
    const obStart = performance.now();
    await outbox.publish(outboxFacts);
    await waitFor(() => outbox.pending().length === 0, 'the outbox acknowledged');
    const outboxMs = performance.now() - obStart;
    outbox.stop();
    stop();

    const rate = (ms: number): number => Math.round((facts / ms) * 1000);
    const result = {
      facts,
      coreFactsPerSec: rate(coreMs),
      persistFactsPerSec: rate(js.ackMs),
      persistConsumedFactsPerSec: rate(js.consumedMs),
      outboxFactsPerSec: rate(outboxMs),
      persistRatio: Number((coreMs / js.ackMs).toFixed(3)),
      persistConsumedRatio: Number((coreMs / js.consumedMs).toFixed(3)),
      outboxRatio: Number((coreMs / outboxMs).toFixed(3)),
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    const row = (name: string, ms: number) =>
      `${name.padEnd(34)} ${String(rate(ms)).padStart(9)} facts/s  ${(ms / 1000).toFixed(2).padStart(7)} s  x${(coreMs / ms).toFixed(3)} of baseline`;
    console.log(`facts bench: ${facts} one-fact messages, nats-server ${server.url}`);
    console.log(row('core NATS publish (baseline)', coreMs));
    console.log(row('JetStream persist, all PubAcks', js.ackMs));
    console.log(row('JetStream persist, all consumed', js.consumedMs));
    console.log(row('agent outbox, all acknowledged', outboxMs));
  } finally {
    for (const b of buses) await b.close();
    await server.stop();
  }
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
