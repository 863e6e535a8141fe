/**
 * What the agent finds in its state directory after a crash: a fact outbox whose last append
 * was cut short, a corrupt line in its middle, a temp file of an interrupted write. It starts
 * anyway, says what it found, and re-publishes the facts it kept.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FleetBus } from '../../../shared/src/infra/index.js';
import { createInProcessBus, createMemoryLogger } from '../../../shared/src/infra/index.js';
import type { Agent } from '../../../services/agent/src/app.js';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';
import {
  ackLostBus,
  assignmentOf,
  fakeCoordinator,
  simAgent,
  simSpec,
  tcpPolicy,
} from './agent-harness.js';

const OUTBOX = 'facts-outbox.jsonl';

describe('agent start after a crash', () => {
  let dir: TempDir;
  let bus: FleetBus;
  const agents: Agent[] = [];
  const coordinators: ReturnType<typeof fakeCoordinator>[] = [];

  beforeEach(() => {
    dir = makeTempDir('tramway-agent-crash-');
    bus = createInProcessBus();
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop();
    for (const c of coordinators.splice(0)) c.stop();
    await bus.close();
    dir.remove();
  });

  const coordinator = () => {
    const c = fakeCoordinator(bus);
    c.latest.set(
      'node-1',
      assignmentOf('node-1', 1, [{ name: 'tcp-latency', version: 1, spec: tcpPolicy() }]),
    );
    coordinators.push(c);
    return c;
  };
  const start = async (logger = createMemoryLogger()) => {
    const sim = simAgent({
      nodeId: 'node-1',
      // the stream's acks lost: the outbox keeps the facts of its boot
      bus: ackLostBus(bus),
      spec: simSpec('v24'),
      stateDir: dir.path,
      logger,
    });
    agents.push(sim.agent);
    expect(await sim.agent.start()).toBeUndefined();
    return { ...sim, logger };
  };
  /** a converged agent, stopped: its outbox holds the facts of its boot */
  const convergedThenStopped = async () => {
    const first = coordinator();
    const { agent } = await start();
    await waitUntil('generation 1', () => agent.observedGeneration() === 1);
    await waitUntil('LinkCreated', () => first.ofType('LinkCreated').length === 1);
    agents.splice(agents.indexOf(agent), 1);
    await agent.stop();
    first.stop();
    return first.facts.map((f) => f.id);
  };

  it('cuts a torn last line of the fact outbox with a warning, starts, and re-publishes the facts before it', async () => {
    const published = await convergedThenStopped();
    const outbox = dir.file(OUTBOX);
    const good = readFileSync(outbox);
    appendFileSync(outbox, '{"id":"node-1/half-a-fact","type":"LinkCr');

    const second = coordinator();
    const { agent, logger } = await start();
    await waitUntil('generation 1 again', () => agent.observedGeneration() === 1);
    await waitUntil('the outbox re-published', () =>
      published.every((id) => second.facts.some((f) => f.id === id)),
    );
    expect(second.facts.some((f) => f.id === 'node-1/half-a-fact')).toBe(false);
    const warning = logger.records.find((r) => r.msg.startsWith('cut a torn last line'));
    expect(warning?.level).toBe('warn');
    expect(warning?.meta).toMatchObject({ file: outbox, offset: good.length });
    expect(readFileSync(outbox).subarray(0, good.length).equals(good)).toBe(true);
  });

  it('keeps the facts before a corrupt line in the middle of the outbox, names the file and line, and starts', async () => {
    const published = await convergedThenStopped();
    const outbox = dir.file(OUTBOX);
    const lines = readFileSync(outbox, 'utf8').split('\n');
    // line 1 is the boot header; line 3 (the second fact) is damaged
    const kept = lines.slice(1, 2).map((l) => (JSON.parse(l) as { id: string }).id);
    writeFileSync(outbox, [...lines.slice(0, 2), '{garbage', ...lines.slice(3)].join('\n'));

    const second = coordinator();
    const { agent, logger } = await start();
    await waitUntil('generation 1 again', () => agent.observedGeneration() === 1);
    await waitUntil('the facts before it re-published', () =>
      kept.every((id) => second.facts.some((f) => f.id === id)),
    );
    const error = logger.records.find((r) => r.level === 'error');
    expect(error?.msg).toBe(`${outbox} line 3 is corrupt: kept the 2 lines before it`);
    expect(existsSync(`${outbox}.corrupt`)).toBe(true);
    expect(published.length).toBeGreaterThan(kept.length);
  });

  it('removes the temp file of an interrupted state write and loads the state as last renamed', async () => {
    await convergedThenStopped();
    const state = readFileSync(dir.file('agent-state.json'), 'utf8');
    writeFileSync(dir.file('.agent-state.json.tmp-durable'), state.slice(0, 20));

    coordinator();
    const { agent, logger } = await start();
    await waitUntil('generation 1 again', () => agent.observedGeneration() === 1);
    expect(agent.heldLinks()).toHaveLength(1);
    expect(readdirSync(dir.path).filter((n) => n.includes('tmp'))).toEqual([]);
    expect(logger.records.map((r) => r.msg)).toContain(
      'removed temp files of an interrupted write',
    );
  });
});
