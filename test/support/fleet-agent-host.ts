/**
 * An "agent host": one Node process running N real agents (services/agent createAgent) over a
 * real NATS server, each with its own sim kernel and, when given, its own STATE_DIR. Used by the
 * e2e tests and bench:fleet to stand in for N nodes without N processes.
 *
 * Run: `node --import tsx --conditions=@tramway/source test/support/fleet-agent-host.ts CONFIG.json`
 * where CONFIG.json is an `AgentHostConfig`. Prints one JSON line `{"ready":N,"ms":T}` once every
 * agent has started (or `{"error":...}` and exits 1), stops every agent on SIGTERM/SIGINT and
 * exits 0. SIGKILL is the "agent crash" of the tests: the agents' pinned state stays in STATE_DIR.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FleetBus } from '@tramway/shared/infra';
import { connectNatsBus, loadAssignmentVerifyKey, natsCredentialsOf } from '@tramway/shared/infra';
import type { KernelSpec } from '@tramway/shared/kernel';
import type { Agent } from '../../services/agent/src/index.js';
import {
  createAgent,
  createPinoLogger,
  createSimKernel,
  parseKernelSpec,
} from '../../services/agent/src/index.js';

export interface HostedAgent {
  readonly nodeId: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** persistent pins, op log and boot id (an agent restart keeps its links); in memory when absent */
  readonly stateDir?: string;
  /** key into `AgentHostConfig.kernels` */
  readonly kernel: string;
}

export interface AgentHostConfig {
  readonly natsUrl: string;
  readonly heartbeatMs: number;
  readonly requestTimeoutMs?: number;
  /** agent log level on stderr; default warn */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** one NATS connection for all agents of the host (bench) instead of one per agent (e2e) */
  readonly sharedBus?: boolean;
  /**
   * the server's security directory: each agent connects as its node (nodes/<id>.nk, ca.crt,
   * inbox _INBOX_<id>); not with `sharedBus` (one connection cannot be every node)
   */
  readonly securityDir?: string;
  /** sim kernel specs by name (the declarations of kernel-scenarios.md) */
  readonly kernels: Readonly<Record<string, KernelSpec>>;
  readonly agents: readonly HostedAgent[];
  /** the coordinator's assignment verify key (SPKI PEM file); spawnAgentHost fills the test one */
  readonly assignmentVerifyKeyFile?: string;
}

const emit = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

const main = async (): Promise<number> => {
  const file = process.argv[2];
  if (file === undefined) {
    emit({ error: 'usage: fleet-agent-host.ts CONFIG.json' });
    return 2;
  }
  const config = JSON.parse(readFileSync(file, 'utf8')) as AgentHostConfig;
  const specs = new Map<string, KernelSpec>();
  for (const [name, doc] of Object.entries(config.kernels)) {
    const spec = parseKernelSpec(doc);
    if (!spec.ok) {
      emit({ error: `kernel ${name}: ${spec.error.join('; ')}` });
      return 2;
    }
    specs.set(name, spec.value);
  }
  // warnings and errors of every agent on stderr (the parent keeps them for failure messages)
  const logger = createPinoLogger({
    level: config.logLevel ?? 'warn',
    format: 'json',
    destination: 2,
  });
  if (config.sharedBus === true && config.securityDir !== undefined) {
    emit({ error: 'sharedBus cannot be used with securityDir: a node connects as itself' });
    return 2;
  }
  const verifyKey =
    config.assignmentVerifyKeyFile === undefined
      ? undefined
      : loadAssignmentVerifyKey(config.assignmentVerifyKeyFile);
  const t0 = performance.now();
  const buses: FleetBus[] = [];
  const agents: Agent[] = [];
  const shared = config.sharedBus
    ? await connectNatsBus(config.natsUrl, { name: 'tramway-agent-host' })
    : undefined;
  if (shared) buses.push(shared);
  const stop = async (): Promise<void> => {
    await Promise.all(agents.map((a) => a.stop()));
    for (const b of buses) await b.close();
  };
  // agents start a few at a time: registration of hundreds at once would only queue on 2 cores
  const BATCH = 25;
  for (let i = 0; i < config.agents.length; i += BATCH) {
    const started = await Promise.all(
      config.agents.slice(i, i + BATCH).map(async (a) => {
        const spec = specs.get(a.kernel);
        if (spec === undefined) return new Error(`${a.nodeId}: unknown kernel ${a.kernel}`);
        const kernel = createSimKernel(spec);
        if (!kernel.ok) return new Error(`${a.nodeId}: ${kernel.error.join('; ')}`);
        let bus = shared;
        if (bus === undefined) {
          bus = await connectNatsBus(config.natsUrl, {
            name: `tramway-agent-${a.nodeId}`,
            credentials:
              config.securityDir === undefined
                ? undefined
                : natsCredentialsOf(config.securityDir, { nodeId: a.nodeId }),
          });
          buses.push(bus);
        }
        const agent = createAgent({
          nodeId: a.nodeId,
          labels: a.labels ?? {},
          bus,
          driver: kernel.value.driver,
          ...(kernel.value.state === undefined ? {} : { kernelState: kernel.value.state }),
          clock: { now: () => new Date() },
          ids: { newId: randomUUID },
          ...(a.stateDir === undefined ? {} : { stateDir: a.stateDir }),
          logger,
          heartbeatMs: config.heartbeatMs,
          requestTimeoutMs: config.requestTimeoutMs ?? 2000,
          ...(verifyKey === undefined ? {} : { assignmentVerifyKey: verifyKey }),
        });
        const error = await agent.start();
        if (error) return new Error(`${a.nodeId}: ${error.message}`);
        agents.push(agent);
        return undefined;
      }),
    );
    const failed = started.find((e) => e !== undefined);
    if (failed) {
      emit({ error: failed.message });
      await stop();
      return 1;
    }
  }
  emit({ ready: agents.length, ms: Math.round(performance.now() - t0) });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await stop();
  return 0;
};

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    emit({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exitCode = 1;
  },
);
