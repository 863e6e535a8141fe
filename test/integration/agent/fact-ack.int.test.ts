/**
 * The fact outbox and the coordinator's acknowledgement (docs/fleet-protocol.md, "Facts and
 * their acknowledgement"): a real coordinator (SQLite log) answers each batch with the ids its
 * log holds and the agent trims them from its outbox (memory and file); an older coordinator
 * that only listens (real nats-server) leaves them in the outbox without stalling the agent; a
 * refused batch is an error reply the agent logs.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FleetBus, LogRecord } from '@tramway/shared/infra';
import {
  SqliteEventStore,
  connectNatsBus,
  createInProcessBus,
  createMemoryLogger,
} from '@tramway/shared/infra';
import type { Agent } from '../../../services/agent/src/app.js';
import { createFileStateStore } from '../../../services/agent/src/state/agent-state.store.js';
import { createCoordinator } from '../../../services/coordinator/src/app.js';
import type { Coordinator } from '../../../services/coordinator/src/app.js';
import { FactBatchRefusedError } from '../../../services/coordinator/src/ingest/fact-ingestion.js';
import type { NatsServerHandle } from '../../support/nats-server.js';
import { startNatsServer } from '../../support/nats-server.js';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';
import { assignmentOf, fakeCoordinator, simAgent, simSpec, tcpPolicy } from './agent-harness.js';

const OUTBOX = 'facts-outbox.jsonl';

describe('fact outbox acknowledged by the coordinator', () => {
  let dir: TempDir;
  let bus: FleetBus;
  let store: SqliteEventStore;
  let coordinator: Coordinator;
  const agents: Agent[] = [];

  beforeEach(async () => {
    dir = makeTempDir('tramway-fact-ack-');
    bus = createInProcessBus();
    store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
    coordinator = createCoordinator({
      bus,
      store,
      clock: { now: () => new Date() },
      http: { host: '127.0.0.1', port: 0 },
      options: { staleAfterMs: 60_000, tickMs: 25, driftIntervalMs: 0, requestTimeoutMs: 2000 },
    });
    await coordinator.start();
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop();
    await coordinator.stop();
    await bus.close();
    await store.close();
    dir.remove();
  });

  const logIds = async (): Promise<Set<string>> => {
    const ids = new Set<string>();
    for await (const e of store.readAll()) ids.add(e.id);
    return ids;
  };

  it('trims from memory and from facts-outbox.jsonl every fact the log holds, and a restart sends none of them again', async () => {
    const stateDir = dir.file('agent');
    const { agent } = simAgent({ nodeId: 'node-1', bus, spec: simSpec('v24'), stateDir });
    agents.push(agent);
    expect(await agent.start()).toBeUndefined();
    await waitUntil('registered', () => coordinator.core.fleet().nodes['node-1']?.registered);
    const outbox = () => createFileStateStore(stateDir).readOutbox(agent.bootId());
    await waitUntil('every fact acknowledged', () => {
      const read = outbox();
      return read.events.length > 0 && read.events.every((e) => read.acked.has(e.id));
    });
    const ids = await logIds();
    const read = outbox();
    for (const e of read.events) expect(ids.has(e.id), e.id).toBe(true);
    expect(readFileSync(`${stateDir}/${OUTBOX}`, 'utf8')).toMatch(/\{"acked":\["node-1\//);

    // a restart in the same boot: nothing acknowledged is pending, so nothing is resent
    await agent.stop();
    agents.splice(0);
    const records: LogRecord[] = [];
    const again = simAgent({
      nodeId: 'node-1',
      bus,
      spec: simSpec('v24'),
      stateDir,
      logger: createMemoryLogger(records),
    });
    const seen: string[] = [];
    let marker = false;
    const spy = bus.subscribe('tramway.facts.node-1', (m) => {
      const events = (m.payload as { events?: { id: string }[] }).events;
      if (events === undefined) marker = true;
      else seen.push(...events.map((e) => e.id));
    });
    agents.push(again.agent);
    expect(await again.agent.start()).toBeUndefined();
    // whatever the start sent is queued before this marker (one subscriber, in order)
    await bus.publish('tramway.facts.node-1', { marker: true });
    await waitUntil('the marker', () => marker);
    spy();
    expect(seen.filter((id) => read.events.some((e) => e.id === id))).toEqual([]);
    expect(records.filter((r) => r.level === 'error')).toEqual([]);
  });
});

describe('fact outbox with an older coordinator (no ack) over NATS (TLS, NKey identities)', () => {
  let nats: NatsServerHandle;
  let dir: TempDir;
  const closers: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    nats = await startNatsServer({ nodes: ['node-1'] });
    dir = makeTempDir('tramway-fact-noack-');
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await nats.stop();
    dir.remove();
  });

  it('keeps unacknowledged facts in the outbox, reconciles anyway, and sends them again', async () => {
    const coordBus = await connectNatsBus(nats.url, { credentials: nats.credentials() });
    closers.push(() => coordBus.close());
    // an older coordinator: it subscribes to the facts and never replies
    const old = fakeCoordinator(coordBus);
    closers.push(async () => old.stop());
    old.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: 'tcp-latency', version: 1, spec: tcpPolicy() }]),
    );
    await coordBus.flush();
    const agentBus = await connectNatsBus(nats.url, {
      credentials: nats.credentials({ nodeId: 'node-1' }),
    });
    closers.push(() => agentBus.close());
    const records: LogRecord[] = [];
    const stateDir = dir.file('agent');
    const { agent } = simAgent({
      nodeId: 'node-1',
      bus: agentBus,
      spec: simSpec('v24'),
      stateDir,
      logger: createMemoryLogger(records),
      factAckTimeoutMs: 200,
    });
    closers.push(() => agent.stop());
    expect(await agent.start()).toBeUndefined();
    // not stalled: the kernel work goes on while no ack comes
    await waitUntil('generation 1', () => agent.observedGeneration() === 1);
    await waitUntil(
      'LinkCreated reached the old coordinator',
      () => old.ofType('LinkCreated').length === 1,
    );
    await waitUntil('the timeout said once', () =>
      records.some((r) => r.msg === 'facts not acknowledged (kept, sent again later)'),
    );
    const read = createFileStateStore(stateDir).readOutbox(agent.bootId());
    expect(read.acked.size).toBe(0);
    expect(read.events.map((e) => e.type)).toContain('LinkCreated');
    // the retry sends them again (the old coordinator dedups by id as before)
    let resent = 0;
    const spy = coordBus.subscribe('tramway.facts.node-1', () => {
      resent += 1;
    });
    closers.push(async () => spy());
    await waitUntil('sent again after the backoff', () => resent > 0, { timeoutMs: 10_000 });
  });

  it('logs a refused batch with the coordinator\u2019s reason and keeps the facts', async () => {
    const coordBus = await connectNatsBus(nats.url, { credentials: nats.credentials() });
    closers.push(() => coordBus.close());
    const latest = assignmentOf('node-1', 1, [
      { name: 'tcp-latency', version: 1, spec: tcpPolicy() },
    ]);
    const unsubscribe = [
      coordBus.respond('tramway.coord.assignment.*', () => latest),
      coordBus.respond('tramway.facts.*', (m) => {
        throw new FactBatchRefusedError(m.subject, ['events[0].type: Nope is not a node fact']);
      }),
    ];
    closers.push(async () => unsubscribe.forEach((u) => u()));
    await coordBus.flush();
    const agentBus = await connectNatsBus(nats.url, {
      credentials: nats.credentials({ nodeId: 'node-1' }),
    });
    closers.push(() => agentBus.close());
    const records: LogRecord[] = [];
    const { agent } = simAgent({
      nodeId: 'node-1',
      bus: agentBus,
      spec: simSpec('v24'),
      stateDir: dir.file('agent'),
      logger: createMemoryLogger(records),
    });
    closers.push(() => agent.stop());
    expect(await agent.start()).toBeUndefined();
    await waitUntil('generation 1', () => agent.observedGeneration() === 1);
    const refused = await waitUntil('the refusal logged', () =>
      records.find((r) => r.msg === 'fact batch refused by the coordinator'),
    );
    expect(refused.level).toBe('error');
    expect(String(refused.meta?.['error'])).toContain('Nope is not a node fact');
    expect(String(refused.meta?.['error'])).toContain('FactBatchRefused');
  });
});
