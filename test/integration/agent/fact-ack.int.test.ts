/**
 * The fact outbox and the stream's acknowledgement (docs/fleet-protocol.md, "Facts and their
 * acknowledgement"): each fact goes to the bus's durable stream and the agent trims it from its
 * outbox (memory and file) once the stream acknowledged it; a real coordinator (SQLite log)
 * consumes the stream. Over NATS with no facts stream yet (no coordinator has run), the facts
 * stay in the outbox without stalling the agent and are published again once the stream exists.
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
import type { NatsServerHandle } from '../../support/nats-server.js';
import { startNatsServer } from '../../support/nats-server.js';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';
import { assignmentOf, signed, simAgent, simSpec, tcpPolicy } from './agent-harness.js';
import { testAssignmentKeys } from '../../support/assignment-keys.js';

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
      assignmentSigningKey: testAssignmentKeys().privateKey,
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
    // what the restarted agent publishes to the stream
    const seen: string[] = [];
    const spyBus: FleetBus = {
      ...bus,
      persist: (subject, payload, options) => {
        seen.push(options.msgId);
        return bus.persist(subject, payload, options);
      },
    };
    const again = simAgent({
      nodeId: 'node-1',
      bus: spyBus,
      spec: simSpec('v24'),
      stateDir,
      logger: createMemoryLogger(records),
    });
    agents.push(again.agent);
    expect(await again.agent.start()).toBeUndefined();
    expect(seen.filter((id) => read.events.some((e) => e.id === id))).toEqual([]);
    expect(records.filter((r) => r.level === 'error')).toEqual([]);
  });
});

describe('fact outbox over NATS (TLS, NKey identities) before any facts stream exists', () => {
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

  it('keeps unacknowledged facts in the outbox, reconciles anyway, and publishes them once the stream exists', async () => {
    const coordBus = await connectNatsBus(nats.url, { credentials: nats.credentials() });
    closers.push(() => coordBus.close());
    // a coordinator that answers assignments but has not created the facts stream yet
    const latest = assignmentOf('node-1', 1, [
      { name: 'tcp-latency', version: 1, spec: tcpPolicy() },
    ]);
    const unsubscribe = coordBus.respond('tramway.coord.assignment.*', () => signed(latest));
    closers.push(async () => unsubscribe());
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
    await waitUntil('the missing ack said once', () =>
      records.some((r) => r.msg === 'facts not acknowledged (kept, sent again later)'),
    );
    const read = createFileStateStore(stateDir).readOutbox(agent.bootId());
    expect(read.acked.size).toBe(0);
    expect(read.events.map((e) => e.type)).toContain('LinkCreated');

    // the stream appears (a coordinator starts): the retry publishes them and the acks trim them
    const taken: string[] = [];
    const stop = await coordBus.consumePersisted(
      'tramway.factlog.*',
      (m) => {
        taken.push(...(m.payload as { events: { id: string }[] }).events.map((e) => e.id));
        return Promise.resolve();
      },
      { durable: 'tramway-coordinator' },
    );
    closers.push(async () => stop());
    await waitUntil(
      'every fact acknowledged',
      () => {
        const now = createFileStateStore(stateDir).readOutbox(agent.bootId());
        return now.events.every((e) => now.acked.has(e.id));
      },
      { timeoutMs: 15_000 },
    );
    // acknowledged by the stream, then delivered to its consumer
    await waitUntil('every fact consumed', () => read.events.every((e) => taken.includes(e.id)));
  });
});
