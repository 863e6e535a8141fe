/**
 * A sim node kernel spec, a stand-in coordinator (answers the latest assignment, collects the
 * facts and heartbeats agents publish) and agent construction, for the agent's integration tests.
 */
import type { KeyObject } from 'node:crypto';
import type { FleetBus } from '../../../shared/src/infra/index.js';
import type { KernelSpec, KernelState } from '../../../shared/src/kernel/index.js';
import type { NewEvent } from '../../../shared/src/lib/index.js';
import type { Agent } from '../../../services/agent/src/app.js';
import { createAgent } from '../../../services/agent/src/app.js';
import type { KernelDriver } from '../../../services/agent/src/kernel-driver/index.js';
import type { Logger } from '@tramway/shared/infra';
import { BusTimeoutError, signAssignment, silentLogger } from '@tramway/shared/infra';
import { FACTS_CONSUMER, FleetSubjects, nodeIdOfSubject } from '@tramway/shared/contracts';
import { testAssignmentKeys } from '../../support/assignment-keys.js';
import { createSimKernel } from '../../../services/agent/src/kernel/sim-kernel.loader.js';
import type {
  AgentAssignment,
  AgentPolicySpec,
} from '../../../services/agent/src/reconcile/agent-policy.js';
import type { AgentStateStore } from '../../../services/agent/src/state/agent-state.store.js';

/** tcp functions in vmlinux; nft functions in the module nf_tables, declared but not loaded. */
export const simSpec = (profile: 'v24' | 'v26', moduleLoaded = false): KernelSpec => ({
  profile,
  objects: [
    {
      name: 'vmlinux',
      kind: 'vmlinux',
      functions: [
        { name: 'tcp_sendmsg', ret: 'int', params: ['void *', 'void *', 'u64'] },
        { name: 'tcp_recvmsg', ret: 'int', params: ['void *', 'void *', 'u64'] },
        { name: 'udp_sendmsg', ret: 'int', params: ['void *', 'void *', 'u64'] },
      ],
    },
    {
      name: 'nf_tables',
      kind: 'module',
      loaded: moduleLoaded,
      functions: [
        { name: 'nft_do_chain', ret: 'int', params: ['void *', 'void *', 'u64'] },
        { name: 'nft_lookup', ret: 'int', params: ['void *', 'void *', 'u64'] },
      ],
    },
  ],
});

export const tcpPolicy = (
  patterns: readonly string[] = ['tcp_*', 'nf_tables:nft_*'],
): AgentPolicySpec => ({
  program: { name: 'tcp_lat', attach: 'fentry' },
  targets: patterns.map((pattern, i) => ({ pattern, cookie: i + 1 })),
  strategy: 'auto',
});

export const assignmentOf = (
  nodeId: string,
  generation: number,
  policies: AgentAssignment['policies'],
): AgentAssignment => ({ nodeId, generation, policies });

/** The assignment as the coordinator sends it: signed with the tests' key. */
export const signed = <T extends object>(assignment: T): T =>
  signAssignment(testAssignmentKeys().privateKey, assignment);

/** Answers `tramway.coord.assignment.<node>` with `latest` (signed), records facts and heartbeats. */
export const fakeCoordinator = (bus: FleetBus) => {
  const facts: NewEvent[] = [];
  const heartbeats: { nodeId: string; observedGeneration: number }[] = [];
  const latest = new Map<string, AgentAssignment>();
  const take = (payload: unknown): void => {
    const batch = payload as { events: NewEvent[] };
    for (const e of batch.events) if (!facts.some((f) => f.id === e.id)) facts.push(e);
  };
  const unsubscribe = [
    // facts sent as requests (older agents)
    bus.subscribe('tramway.facts.*', (m) => take(m.payload)),
    bus.subscribe('tramway.hb.*', (m) => {
      heartbeats.push(m.payload as { nodeId: string; observedGeneration: number });
    }),
    bus.respond('tramway.coord.assignment.*', (m) => {
      const { nodeId } = m.payload as { nodeId: string };
      const assignment = latest.get(nodeId);
      return assignment === undefined ? null : signed(assignment);
    }),
  ];
  // the facts stream, as the coordinator consumes it (NATS: creates the stream and consumer)
  const consuming = bus.consumePersisted(
    FleetSubjects.allFactLogs(),
    (m) => {
      take(m.payload);
      return Promise.resolve();
    },
    { durable: FACTS_CONSUMER },
  );
  consuming.catch(() => undefined);
  return {
    facts,
    heartbeats,
    latest,
    /** resolves once the facts stream is consumed */
    ready: consuming.then(() => undefined),
    ofType: (type: string) => facts.filter((f) => f.type === type),
    stop: () => {
      unsubscribe.forEach((u) => u());
      void consuming.then((u) => u()).catch(() => undefined);
    },
  };
};

/**
 * `bus` with the facts stream's acknowledgements lost: each durable publish reaches the fake
 * coordinator (on the facts subject) and then fails as a timeout, so the outbox keeps every fact
 * and publishes it again (after a restart, a resync, a retry).
 */
export const ackLostBus = (bus: FleetBus): FleetBus => ({
  ...bus,
  persist: async (subject, payload, options) => {
    await bus.publish(FleetSubjects.facts(nodeIdOfSubject(subject) ?? '_'), payload);
    throw new BusTimeoutError(subject, options.timeoutMs ?? 0);
  },
});

export interface SimAgent {
  readonly agent: Agent;
  /** the node kernel itself, behind the agent's back */
  readonly driver: KernelDriver;
  readonly state: () => KernelState;
}

let counter = 0;

/** A fresh sim kernel from `spec` and an agent on it (not started). */
export const simAgent = (input: {
  nodeId: string;
  bus: FleetBus;
  spec: KernelSpec;
  store?: AgentStateStore;
  stateDir?: string;
  logger?: Logger;
  heartbeatMs?: number;
  /** false: a node without tracing multi-link */
  multiLink?: boolean;
  /** the verify key (default the tests' key); null: none */
  verifyKey?: KeyObject | null;
  insecureUnsignedAssignments?: boolean;
  factAckTimeoutMs?: number;
}): SimAgent => {
  const kernel = createSimKernel(
    input.spec,
    input.multiLink === undefined ? {} : { multiLink: input.multiLink },
  );
  if (!kernel.ok) throw new Error(kernel.error.join('\n'));
  const state = (): KernelState => kernel.value.driver.state()!;
  const agent = createAgent({
    nodeId: input.nodeId,
    labels: { role: 'web' },
    bus: input.bus,
    driver: kernel.value.driver,
    clock: { now: () => new Date() },
    ids: { newId: () => `id-${process.pid}-${++counter}` },
    logger: input.logger ?? silentLogger,
    heartbeatMs: input.heartbeatMs ?? 50,
    requestTimeoutMs: 500,
    ...(input.verifyKey === null
      ? {}
      : { assignmentVerifyKey: input.verifyKey ?? testAssignmentKeys().publicKey }),
    ...(input.insecureUnsignedAssignments === undefined
      ? {}
      : { insecureUnsignedAssignments: input.insecureUnsignedAssignments }),
    ...(input.store === undefined ? {} : { store: input.store }),
    ...(input.stateDir === undefined ? {} : { stateDir: input.stateDir }),
    ...(input.factAckTimeoutMs === undefined ? {} : { factAckTimeoutMs: input.factAckTimeoutMs }),
  });
  return { agent, state, driver: kernel.value.driver };
};
