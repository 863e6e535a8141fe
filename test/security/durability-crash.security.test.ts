/**
 * Issue 10, attack 8 ("Durability"), replayed against a real agent process (services/agent/src/
 * main.ts) on a real nats-server with TLS and NKey identities, with a real coordinator (SQLite log) in the test process:
 *
 * - SIGKILL right after a link's create (TRAMWAY_TEST_CRASH_AFTER, a test-only hook): the link
 *   the kernel kept is adopted with a LinkCreated whose reason says so (its intent was recorded
 *   before create); a link the kernel freed leaves an intent that is cleared with a log line and
 *   the link is made again; never an unexplained "orphan".
 * - A link in the kernel with no intent (not made by the agent for a policy) is released with a
 *   LinkReleased whose reason says why.
 * - A torn last line in facts-outbox.jsonl and in the state journal is cut with a warning and
 *   the agent starts; nothing is fatal.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FleetBus } from '@tramway/shared/infra';
import {
  ASSIGNMENT_SIGNING_KEY_FILE,
  SqliteEventStore,
  connectNatsBus,
  loadAssignmentSigningKey,
} from '@tramway/shared/infra';
import type { RecordedEvent } from '@tramway/shared/lib';
import { createFileStateStore } from '../../services/agent/src/state/agent-state.store.js';
import { createCoordinator } from '../../services/coordinator/src/app.js';
import type { Coordinator } from '../../services/coordinator/src/app.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import { startNatsServer } from '../support/nats-server.js';
import type { TempDir } from '../support/temp-dir.js';
import { makeTempDir } from '../support/temp-dir.js';
import { waitUntil } from '../support/wait-until.js';
import { authAs } from '../support/api-tokens.js';

const NODE = 'crash-1';
const ADOPTED = 'adopted after restart: intent recorded before create';

interface AgentProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** the JSON log lines it wrote so far */
  readonly logs: () => { level: string; msg: string; [k: string]: unknown }[];
}

describe('durability: agent crash and torn tails (real agent process)', () => {
  let nats: NatsServerHandle;
  let dir: TempDir;
  let bus: FleetBus;
  let store: SqliteEventStore;
  let coordinator: Coordinator;
  const running: AgentProcess[] = [];

  beforeEach(async () => {
    nats = await startNatsServer({ nodes: [NODE] });
    dir = makeTempDir('tramway-durability-');
    bus = await connectNatsBus(nats.url, { credentials: nats.credentials() });
    store = await SqliteEventStore.open({ path: dir.file('log.sqlite'), pollIntervalMs: 0 });
    coordinator = createCoordinator({
      bus,
      store,
      clock: { now: () => new Date() },
      // the key the security dir holds: the agent process verifies with its public half
      assignmentSigningKey: loadAssignmentSigningKey(
        join(nats.securityDir!, ASSIGNMENT_SIGNING_KEY_FILE),
      ),
      http: { host: '127.0.0.1', port: 0 },
      options: { staleAfterMs: 60_000, tickMs: 50, driftIntervalMs: 0, requestTimeoutMs: 5000 },
    });
    await coordinator.start();
  });
  afterEach(async () => {
    for (const p of running.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
      await p.exited;
    }
    await coordinator.stop();
    await bus.close();
    await store.close();
    await nats.stop();
    dir.remove();
  });

  const stateDir = (): string => dir.file('agent');

  const startAgent = (env: Record<string, string> = {}): AgentProcess => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@tramway/source', 'services/agent/src/main.ts'],
      {
        env: {
          ...process.env,
          NODE_ID: NODE,
          NODE_LABELS: 'role=web',
          NATS_URL: nats.url,
          TRAMWAY_SECURITY_DIR: nats.securityDir!,
          STATE_DIR: stateDir(),
          HEARTBEAT_MS: '100',
          LOG_LEVEL: 'info',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr!.resume();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const p: AgentProcess = {
      child,
      exited,
      logs: () =>
        out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { level: string; msg: string }),
    };
    running.push(p);
    return p;
  };

  const events = async (): Promise<RecordedEvent[]> => {
    const out: RecordedEvent[] = [];
    for await (const e of store.readAll()) out.push(e);
    return out;
  };
  const ofType = async (type: string) => (await events()).filter((e) => e.type === type);

  const apply = async (): Promise<void> => {
    const res = await fetch(`${coordinator.url}/v1/policies`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(await authAs(coordinator.core, 'ops')),
      },
      body: JSON.stringify({
        policy: {
          apiVersion: 'tramway.dev/v1alpha1',
          kind: 'TracingPolicy',
          metadata: { name: 'tcp-latency' },
          spec: {
            program: { name: 'tcp_lat', attach: 'fentry' },
            targets: [
              { pattern: 'tcp_sendmsg', cookie: 1 },
              { pattern: 'tcp_recvmsg', cookie: 2 },
            ],
            rollout: { waves: ['100%'], pauseSeconds: 0 },
          },
        },
      }),
    });
    expect(res.status, await res.text()).toBe(202);
  };

  const registered = () =>
    waitUntil('agent registered', () => coordinator.core.fleet().nodes[NODE]?.registered, {
      timeoutMs: 30_000,
    });

  const opsOf = () => {
    const s = createFileStateStore(stateDir());
    return s.readOps(s.load()!.bootId).map((o) => o.op);
  };

  it('SIGKILL after link_pin: the link the kernel kept is adopted with a reason, not released, not attached twice', async () => {
    const first = startAgent({ TRAMWAY_TEST_CRASH_AFTER: 'link-pinned' });
    await registered();
    await apply();
    expect((await first.exited).signal).toBe('SIGKILL');
    // the crash came before the link was saved or reported
    expect(await ofType('LinkCreated')).toEqual([]);
    expect(opsOf().filter((o) => o === 'link_create')).toHaveLength(1);

    const second = startAgent();
    const created = await waitUntil('LinkCreated', async () => (await ofType('LinkCreated'))[0], {
      timeoutMs: 30_000,
    });
    expect(created.data).toMatchObject({ nodeId: NODE, policy: 'tcp-latency', reason: ADOPTED });
    expect(created.schemaVersion).toBe(3);
    await waitUntil('NodeReconciled', async () => (await ofType('NodeReconciled')).length > 0, {
      timeoutMs: 30_000,
    });
    expect(await ofType('LinkReleased')).toEqual([]);
    expect((await ofType('ProgramLoaded')).length).toBe(1);
    // one link_create ever: the adopted link is the one the pass wanted
    expect(opsOf().filter((o) => o === 'link_create')).toHaveLength(1);
    expect(second.logs().map((l) => l.msg)).toContain(
      'adopted a link found after restart: its intent was recorded before create',
    );
    expect(second.logs().filter((l) => l.level === 'error')).toEqual([]);
  });

  it('SIGKILL after link_create, before link_pin: the kernel freed the link; its intent is cleared with a log line and the link made again', async () => {
    const first = startAgent({ TRAMWAY_TEST_CRASH_AFTER: 'link-created' });
    await registered();
    await apply();
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(await ofType('LinkCreated')).toEqual([]);

    const second = startAgent();
    const created = await waitUntil('LinkCreated', async () => (await ofType('LinkCreated'))[0], {
      timeoutMs: 30_000,
    });
    // a fresh link (the first died with the process's fd), reported as created, not adopted
    expect((created.data as { reason?: string }).reason).toBeUndefined();
    expect(await ofType('LinkReleased')).toEqual([]);
    await waitUntil('the intent cleared', () =>
      second
        .logs()
        .some((l) => l.msg === 'link intent cleared: no link of it is in the kernel after restart'),
    );
    expect(opsOf().filter((o) => o === 'link_create')).toHaveLength(2);
  });

  it('SIGKILL after link_pin, then a saved state without that assignment: the link is released with a reason naming its intent', async () => {
    const first = startAgent({ TRAMWAY_TEST_CRASH_AFTER: 'link-pinned' });
    await registered();
    await apply();
    expect((await first.exited).signal).toBe('SIGKILL');
    // the saved state no longer assigns that version (as if the assignment it acted on were lost)
    const s = createFileStateStore(stateDir());
    const state = s.load()!;
    expect(state.intents?.map((i) => i.id)).toEqual([expect.stringMatching(/^tcp-latency@1\//)]);
    s.save({ ...state, assignment: null });

    const second = startAgent();
    const released = await waitUntil(
      'LinkReleased',
      async () => (await ofType('LinkReleased'))[0],
      { timeoutMs: 30_000 },
    );
    expect((released.data as { reason: string }).reason).toMatch(
      /^released after restart: its intent \(tcp-latency v1, generation 1\) is no longer assigned$/,
    );
    // then the coordinator's assignment (v1) is attached again, as a new link
    const created = await waitUntil('LinkCreated', async () => (await ofType('LinkCreated'))[0], {
      timeoutMs: 30_000,
    });
    expect((created.data as { linkId: number }).linkId).not.toBe(
      (released.data as { linkId: number }).linkId,
    );
    expect(second.logs().filter((l) => l.level === 'error')).toEqual([]);
  });

  it('a link in the kernel with no recorded intent is released with a LinkReleased saying why', async () => {
    const first = startAgent();
    await registered();
    await apply();
    await waitUntil('LinkCreated', async () => (await ofType('LinkCreated')).length === 1, {
      timeoutMs: 30_000,
    });
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    // someone else makes a link on the node while the agent is down (the sim kernel's history)
    const s = createFileStateStore(stateDir());
    const boot = s.load()!.bootId;
    const ops = s.readOps(boot);
    const load = ops.find((o) => o.op === 'prog_load')!;
    const create = ops.find((o) => o.op === 'link_create')!;
    const nextProg = ops.filter((o) => o.op === 'prog_load').length + 1;
    s.appendOp(load);
    s.appendOp({ ...create, prog: nextProg } as typeof create);
    s.appendOp({ op: 'link_pin', link: 2 });
    s.save(s.load()!);

    const second = startAgent();
    const released = await waitUntil(
      'LinkReleased',
      async () => (await ofType('LinkReleased'))[0],
      { timeoutMs: 30_000 },
    );
    expect(released.data).toMatchObject({ nodeId: NODE, linkId: 2 });
    expect((released.data as { reason: string }).reason).toMatch(
      /^released after restart: in the kernel with no recorded intent/,
    );
    expect((released.data as { reason: string }).reason).not.toMatch(/orphan/);
    expect(second.logs().filter((l) => l.level === 'error')).toEqual([]);
  });

  it('torn last lines of facts-outbox.jsonl and the state journal are cut with a warning; the agent starts and converges', async () => {
    const first = startAgent();
    await registered();
    await apply();
    await waitUntil('LinkCreated', async () => (await ofType('LinkCreated')).length === 1, {
      timeoutMs: 30_000,
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const outbox = `${stateDir()}/facts-outbox.jsonl`;
    const journal = `${stateDir()}/agent-state.journal.jsonl`;
    const outboxBefore = readFileSync(outbox).length;
    appendFileSync(outbox, '{"id":"crash-1/half","type":"LinkCre');
    appendFileSync(journal, '{"seq":99999,"links":{"put":[{"linkId');

    const second = startAgent();
    await waitUntil(
      'both cuts logged',
      () =>
        second.logs().filter((l) => l.msg === 'cut a torn last line (an interrupted append)')
          .length >= 2,
      { timeoutMs: 30_000 },
    );
    const cuts = second
      .logs()
      .filter((l) => l.msg === 'cut a torn last line (an interrupted append)');
    expect(cuts.map((c) => c.level)).toEqual(['warn', 'warn']);
    expect(cuts.map((c) => c['file']).sort()).toEqual([journal, outbox].sort());
    await waitUntil('agent started', () => second.logs().some((l) => l.msg === 'agent started'), {
      timeoutMs: 30_000,
    });
    expect(second.child.exitCode).toBeNull();
    expect(readFileSync(outbox).length).toBeGreaterThanOrEqual(outboxBefore);
    expect(readFileSync(outbox, 'utf8')).not.toContain('crash-1/half');
    // still one link, not released, not attached twice
    expect(await ofType('LinkReleased')).toEqual([]);
    expect(opsOf().filter((o) => o === 'link_create')).toHaveLength(1);
  });
});
