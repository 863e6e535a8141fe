/**
 * `NodeActualState` (docs/fleet-protocol.md): what the node's kernel holds, with the policy of
 * each link and the status of each assigned policy, for the coordinator's drift detection.
 */
import type { KernelDriver } from '../kernel-driver/index.js';
import type { HeldLink } from '../reconcile/agent-policy.js';
import type { PolicyStatus } from '../reconcile/desired-links.js';

export interface NodeActualState {
  readonly nodeId: string;
  readonly bootId: string;
  readonly observedGeneration: number;
  readonly links: readonly {
    readonly linkId: number;
    readonly policy: string | null;
    readonly policyVersion: number | null;
    readonly program: string;
    readonly connections: readonly HeldLink['connections'][number][];
  }[];
  readonly modules: readonly { readonly name: string; readonly state: string }[];
  /** per assigned policy: its path, the targets waiting for their module and those refused */
  readonly policies: readonly Omit<PolicyStatus, 'attachable'>[];
}

/** Reads the kernel (`driver.dump()`) and names each link's policy from the links the agent holds. */
export const readActualState = async (input: {
  readonly nodeId: string;
  readonly bootId: string;
  readonly observedGeneration: number;
  readonly driver: KernelDriver;
  readonly held: readonly HeldLink[];
  readonly policies: readonly PolicyStatus[];
}): Promise<NodeActualState> => {
  const dump = await input.driver.dump();
  const byLink = new Map(input.held.map((h) => [h.linkId, h]));
  const progName = new Map(dump.progs.map((p) => [p.id, p.name]));
  return {
    nodeId: input.nodeId,
    bootId: input.bootId,
    observedGeneration: input.observedGeneration,
    links: dump.links.map((l) => {
      const h = byLink.get(l.id);
      return {
        linkId: l.id,
        policy: h?.policy ?? null,
        policyVersion: h?.policyVersion ?? null,
        program: h?.program ?? progName.get(l.prog) ?? `prog#${l.prog}`,
        connections: l.connections.map((c) => {
          const module = h?.connections.find(
            (hc) => hc.function === c.function && hc.btfId === c.btfId,
          )?.module;
          return {
            function: c.function,
            ...(module === undefined ? {} : { module }),
            objId: c.objId,
            btfId: c.btfId,
            cookie: c.cookie.toString(),
          };
        }),
      };
    }),
    modules: dump.modules.map((m) => ({ name: m.name, state: m.state })),
    policies: input.policies.map(({ attachable: _attachable, ...rest }) => rest),
  };
};
