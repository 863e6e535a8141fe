/**
 * The agent as its own process (services/agent/src/main.ts) against a real nats-server: it
 * registers, reconciles the assignment a stand-in coordinator answers, and keeps its pinned
 * links when the process is stopped (SIGTERM) or killed (SIGKILL) and started again.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetBus } from '../../../shared/src/infra/index.js';
import { connectNatsBus } from '../../../shared/src/infra/index.js';
import { createFileStateStore } from '../../../services/agent/src/state/agent-state.store.js';
import type { NatsServerHandle } from '../../support/nats-server.js';
import { startNatsServer } from '../../support/nats-server.js';
import type { TempDir } from '../../support/temp-dir.js';
import { makeTempDir } from '../../support/temp-dir.js';
import { waitUntil } from '../../support/wait-until.js';
import { assignmentOf, fakeCoordinator, tcpPolicy } from './agent-harness.js';
import { testAssignmentKeyFiles } from '../../support/assignment-keys.js';

describe('agent process (main.ts)', () => {
  let server: NatsServerHandle;
  let bus: FleetBus;
  let dir: TempDir;
  let coord: ReturnType<typeof fakeCoordinator>;

  beforeAll(async () => {
    server = await startNatsServer({ nodes: ['proc-1'] });
    bus = await connectNatsBus(server.url, { credentials: server.credentials() });
    coord = fakeCoordinator(bus);
    dir = makeTempDir('tramway-agent-proc-');
  });
  afterAll(async () => {
    coord.stop();
    await bus.close();
    await server.stop();
    dir.remove();
  });

  const startProcess = (
    env: Record<string, string | undefined> = {
      // its NATS identity from the server's security dir; the stand-in coordinator signs with
      // the tests' key, which the agent is given explicitly (it wins over the dir's)
      TRAMWAY_SECURITY_DIR: server.securityDir!,
      TRAMWAY_ASSIGNMENT_VERIFY_KEY: testAssignmentKeyFiles().verifyKey,
    },
  ): { child: ChildProcess; exited: Promise<number | null>; stdout: () => string } => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@tramway/source', 'services/agent/src/main.ts'],
      {
        env: Object.fromEntries(
          Object.entries({
            ...process.env,
            NODE_ID: 'proc-1',
            NODE_LABELS: 'role=web',
            NATS_URL: server.url,
            STATE_DIR: dir.path,
            HEARTBEAT_MS: '100',
            LOG_LEVEL: 'warn',
            ...env,
          }).filter(([, v]) => v !== undefined),
        ),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) =>
      child.once('close', (code) => resolve(code)),
    );
    // read all along: a full pipe would block the agent's (synchronous) log writes
    let stdout = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.resume();
    return { child, exited, stdout: () => stdout };
  };

  it('does not start without an assignment verify key (unless told it may run insecure)', async () => {
    const { exited, stdout } = startProcess({
      TRAMWAY_SECURITY_DIR: undefined,
      TRAMWAY_ASSIGNMENT_VERIFY_KEY: undefined,
    });
    expect(await exited).toBe(2);
    // one fatal JSON line on stdout (not a terminal) naming what is missing
    const [line, ...rest] = stdout().trim().split('\n');
    expect(rest).toEqual([]);
    expect(JSON.parse(line!)).toMatchObject({ level: 'fatal', service: 'agent', nodeId: 'proc-1' });
    expect(line).toContain('no assignment verify key');
  });

  it('reconciles, then keeps its links across a SIGTERM stop and a SIGKILL crash', async () => {
    coord.latest.set(
      'proc-1',
      assignmentOf('proc-1', 1, [{ name: 'tcp-latency', version: 1, spec: tcpPolicy(['tcp_*']) }]),
    );
    const first = startProcess();
    await waitUntil('LinkCreated', () => coord.ofType('LinkCreated').length === 1, {
      timeoutMs: 30_000,
    });
    await waitUntil('heartbeat at generation 1', () =>
      coord.heartbeats.some((h) => h.nodeId === 'proc-1' && h.observedGeneration === 1),
    );
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = startProcess();
    const beatsBefore = coord.heartbeats.length;
    await waitUntil(
      'heartbeat of the second process',
      () => coord.heartbeats.length > beatsBefore + 2,
      { timeoutMs: 30_000 },
    );
    second.child.kill('SIGKILL');
    await second.exited;

    const third = startProcess();
    const beats = coord.heartbeats.length;
    await waitUntil('heartbeat of the third process', () => coord.heartbeats.length > beats + 2, {
      timeoutMs: 30_000,
    });
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);

    const store = createFileStateStore(dir.path);
    const state = store.load();
    const ops = store.readOps(state!.bootId).map((o) => o.op);
    expect(ops.filter((o) => o === 'link_create')).toHaveLength(1);
    expect(coord.ofType('LinkCreated')).toHaveLength(1);
    expect(coord.ofType('NodeBooted')).toHaveLength(1);
    expect(state?.links.map((l) => [l.linkId, l.policy])).toEqual([[1, 'tcp-latency']]);
  });
});
