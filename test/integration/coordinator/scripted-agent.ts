/**
 * A small scripted agent for the coordinator's integration tests: it speaks the real protocol
 * (docs/fleet-protocol.md) over the real bus, with real fleet events, but its "kernel" is a
 * list of links. `failing` makes every attach fail with EBUSY, as a full trampoline would.
 * (The real agent of services/agent replaces it once it has landed.)
 */
import type { FleetBus, Unsubscribe } from '@tramway/shared/infra';
import type { FleetEvent } from '@tramway/shared/domain';
import { encodeFleetEvent } from '@tramway/shared/contracts';
import type { NewEvent } from '@tramway/shared/lib';

interface HeldLink {
  linkId: number;
  policy: string;
  policyVersion: number;
  program: string;
  functions: string[];
}

interface AssignmentMessage {
  nodeId: string;
  generation: number;
  policies: {
    name: string;
    version: number;
    spec: { program: { name: string }; targets: { pattern: string }[] };
  }[];
}

export interface ScriptedAgentOptions {
  readonly nodeId: string;
  readonly labels?: Record<string, string>;
  readonly functions?: readonly string[];
  /** every attach fails (LinkCreateFailed, EBUSY) */
  failing?: boolean;
  /** policy versions whose attach fails on this node */
  readonly failingVersions?: Set<string>;
}

const glob = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

export const createScriptedAgent = (bus: FleetBus, options: ScriptedAgentOptions) => {
  const { nodeId } = options;
  const functions = options.functions ?? ['tcp_sendmsg', 'tcp_recvmsg', 'udp_sendmsg'];
  const bootId = `boot-${nodeId}`;
  let assignment: AssignmentMessage | null = null;
  let observedGeneration = 0;
  let links: HeldLink[] = [];
  let nextLinkId = 1;
  let seq = 0;
  const unsubscribes: Unsubscribe[] = [];
  /** every assign request received (generation) */
  const assignsReceived: number[] = [];

  const fact = (event: FleetEvent, key: string): NewEvent =>
    encodeFleetEvent(event, {
      id: `${nodeId}:${bootId}:${key}`,
      metadata: { occurredAt: new Date().toISOString(), actor: `agent:${nodeId}` },
    }).event;

  const publishFacts = (events: NewEvent[]): Promise<void> =>
    bus.publish(`tramway.facts.${nodeId}`, { nodeId, bootId, events });

  const heartbeat = (): Promise<void> =>
    bus.publish(`tramway.hb.${nodeId}`, {
      nodeId,
      bootId,
      observedGeneration,
      at: new Date().toISOString(),
    });

  const matching = (patterns: readonly string[]): string[] =>
    functions.filter((f) => patterns.some((p) => glob(p).test(f)));

  const reconcile = async (): Promise<void> => {
    if (!assignment) return;
    const g = assignment.generation;
    const events: NewEvent[] = [];
    // make-before-break: attach what is missing first, then release what is no longer assigned
    for (const p of assignment.policies) {
      if (links.some((l) => l.policy === p.name && l.policyVersion === p.version)) continue;
      const fns = matching(p.spec.targets.map((t) => t.pattern));
      if (options.failing || options.failingVersions?.has(`${p.name}@${p.version}`)) {
        events.push(
          fact(
            {
              type: 'LinkCreateFailed',
              data: {
                nodeId,
                programId: 100 + p.version,
                programName: p.spec.program.name,
                policy: p.name,
                attachType: 'BPF_TRACE_FENTRY_MULTI',
                errno: 16,
                failingTarget: { function: fns[0] ?? 'none' },
                reason: 'trampoline full (38 links)',
                observedGeneration: g,
              },
            },
            `failed:g${g}:${p.name}@${p.version}`,
          ),
        );
        continue;
      }
      const link: HeldLink = {
        linkId: nextLinkId++,
        policy: p.name,
        policyVersion: p.version,
        program: p.spec.program.name,
        functions: fns,
      };
      links.push(link);
      events.push(
        fact(
          {
            type: 'LinkCreated',
            data: {
              nodeId,
              linkId: link.linkId,
              programId: 100 + p.version,
              programName: link.program,
              policy: p.name,
              attachType: 'BPF_TRACE_FENTRY_MULTI',
              connections: fns.map((f, i) => ({
                function: f,
                objId: 1,
                btfId: 10 + i,
                cookie: '0',
              })),
              observedGeneration: g,
            },
          },
          `link:${link.linkId}`,
        ),
      );
    }
    for (const l of [...links]) {
      const wanted = assignment.policies.some(
        (p) => p.name === l.policy && p.version === l.policyVersion,
      );
      if (wanted) continue;
      links = links.filter((x) => x !== l);
      events.push(
        fact(
          {
            type: 'LinkReleased',
            data: { nodeId, linkId: l.linkId, reason: 'no longer assigned', observedGeneration: g },
          },
          `released:${l.linkId}`,
        ),
      );
    }
    observedGeneration = g;
    if (events.length > 0) await publishFacts(events);
    await heartbeat();
  };

  const adopt = async (
    next: AssignmentMessage,
  ): Promise<{ accepted: boolean; generation: number }> => {
    assignsReceived.push(next.generation);
    if (assignment && next.generation <= assignment.generation) {
      return {
        accepted: next.generation === assignment.generation,
        generation: assignment.generation,
      };
    }
    assignment = next;
    await reconcile();
    return { accepted: true, generation: next.generation };
  };

  return {
    nodeId,
    options,
    assignsReceived,
    links: () => links,
    observedGeneration: () => observedGeneration,
    heartbeat,
    /** registers, serves the agent subjects, fetches its latest assignment */
    start: async (): Promise<void> => {
      unsubscribes.push(
        bus.respond(`tramway.agent.${nodeId}.plan`, (m) => {
          const { policy, policyVersion } = m.payload as {
            policy: { metadata: { name: string }; spec: { targets: { pattern: string }[] } };
            policyVersion: number;
          };
          const fns = matching(policy.spec.targets.map((t) => t.pattern));
          return {
            nodeId,
            policy: policy.metadata.name,
            policyVersion,
            path: 'tracing-multi',
            targets: fns.map((f, i) => ({
              function: f,
              objId: 1,
              btfId: 10 + i,
              cookie: '0',
              status: 'attach',
              headroom: 37,
            })),
            unmatched: policy.spec.targets
              .filter((t) => matching([t.pattern]).length === 0)
              .map((t) => ({ pattern: t.pattern, reason: 'no function matches' })),
            counts: { attach: fns.length, pending: 0, rejected: 0, trampolineFull: 0 },
          };
        }),
        bus.respond(`tramway.agent.${nodeId}.assign`, (m) => adopt(m.payload as AssignmentMessage)),
        bus.respond(`tramway.agent.${nodeId}.state`, () => ({
          nodeId,
          bootId,
          observedGeneration,
          links: links.map((l) => ({
            linkId: l.linkId,
            policy: l.policy,
            policyVersion: l.policyVersion,
            program: l.program,
            connections: l.functions.map((f, i) => ({
              function: f,
              objId: 1,
              btfId: 10 + i,
              cookie: '0',
            })),
          })),
          modules: [{ name: 'vmlinux', state: 'live' }],
        })),
        bus.respond(`tramway.agent.${nodeId}.module`, () => ({ ok: true })),
      );
      await bus.flush();
      await publishFacts([
        fact(
          {
            type: 'NodeRegistered',
            data: {
              nodeId,
              labels: options.labels ?? {},
              bootId,
              kernelRelease: '6.12.0-sim',
              profile: 'v26',
              btfFingerprint: 'sha256:00',
            },
          },
          `registered:${seq++}`,
        ),
      ]);
      const latest = (await bus
        .request(`tramway.coord.assignment.${nodeId}`, { nodeId })
        .catch(() => null)) as AssignmentMessage | null;
      if (latest) await adopt(latest);
      await heartbeat();
    },
    /** drops a link behind the coordinator's back (drift) */
    loseLink: (): void => {
      links = links.slice(1);
    },
    stop: (): void => {
      for (const u of unsubscribes) u();
      unsubscribes.length = 0;
    },
  };
};

export type ScriptedAgent = ReturnType<typeof createScriptedAgent>;
