/**
 * The outcome of a reconcile pass per assigned policy version (the `NodeReconciled` fact,
 * docs/fleet-protocol.md "Reconcile outcome"): connections held, functions waiting for their
 * module, functions refused at resolution or by a failed attach. Pure.
 */
import type { PolicyReconcileOutcome } from '@tramway/shared/domain';
import { errnoNumber } from '@tramway/shared/lib';
import type { AgentAssignment, HeldLink } from './agent-policy.js';
import type { PolicyStatus } from './desired-links.js';
import type { AttachFailure } from './reconciler.js';

const moduleOf = (object: string): { module?: string } =>
  object === 'vmlinux' ? {} : { module: object };

/**
 * One outcome per assigned policy, in assignment order. A policy the pass could not resolve at
 * all (no status) reports nothing attached, pending or refused beyond the links it holds.
 */
export const reconcileOutcome = (input: {
  readonly assignment: AgentAssignment;
  readonly policies: readonly PolicyStatus[];
  readonly held: readonly HeldLink[];
  readonly attachFailures: readonly AttachFailure[];
}): readonly PolicyReconcileOutcome[] =>
  input.assignment.policies.map(({ name, version }) => {
    const status = input.policies.find((p) => p.policy === name && p.policyVersion === version);
    const attached = input.held
      .filter((h) => h.policy === name && h.policyVersion === version)
      .reduce((n, h) => n + h.connections.length, 0);
    const refused = new Map<string, PolicyReconcileOutcome['rejected'][number]>();
    for (const r of status?.rejected ?? [])
      refused.set(`${r.object}:${r.function}`, {
        function: r.function,
        ...moduleOf(r.object),
        errno: errnoNumber(r.errno),
        reason: r.reason,
      });
    // a failed multi attach is all-or-nothing (spec §2): every target of the group is not attached
    for (const f of input.attachFailures)
      if (f.group.policy === name && f.group.policyVersion === version)
        for (const t of f.group.targets)
          if (!refused.has(`${t.object}:${t.function}`))
            refused.set(`${t.object}:${t.function}`, {
              function: t.function,
              ...moduleOf(t.object),
              errno: errnoNumber(f.errno),
              reason: f.reason,
            });
    return {
      policy: name,
      version,
      attached,
      pending: (status?.pending ?? []).map((p) => ({ function: p.function, module: p.object })),
      rejected: [...refused.values()],
    };
  });
