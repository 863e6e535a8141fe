/**
 * The agent's reconciliation decision (ARCHITECTURE.md, "Coordination"): from the links the
 * node must hold and the links it holds, the kernel steps to run. Pure and deterministic.
 *
 * Make-before-break (docs/fleet-protocol.md, "Policy"): every attach comes before every
 * release, and a release that replaces a link of the same policy names the attaches it waits
 * for (`unless`): if one of them fails, the old link stays, so a target is never left without
 * the policy's program because its new version could not attach. A new version that has nothing
 * to attach on the node at all (every target refused, pending or unmatched) releases nothing of
 * the old one either: the update failed there (reported as such), it did not empty the node.
 */
import type { HeldLink, LinkGroup } from './agent-policy.js';

export type ReconcileStep =
  | { readonly kind: 'attach'; readonly group: LinkGroup }
  | {
      readonly kind: 'release';
      readonly link: HeldLink;
      readonly reason: string;
      /** keys (`policy@version/group`) of attaches whose failure keeps this link */
      readonly unless: readonly string[];
    };

/** `policy@version/groupKey`: a group's identity across the node. */
export const groupId = (g: {
  readonly policy: string;
  readonly policyVersion: number;
  readonly key?: string;
  readonly groupKey?: string;
}): string => `${g.policy}@${g.policyVersion}/${g.key ?? g.groupKey ?? ''}`;

const targetSet = (
  targets: readonly { object: string; function: string; cookie: bigint | string }[],
): string =>
  targets
    .map((t) => `${t.object}:${t.function}=${String(t.cookie)}`)
    .sort()
    .join(',');

/** A held link satisfies a desired group when it is the same group of the same version, on the same targets. */
export const satisfies = (held: HeldLink, group: LinkGroup): boolean =>
  held.policy === group.policy &&
  held.policyVersion === group.policyVersion &&
  held.groupKey === group.key &&
  held.program === group.program &&
  held.attachType === group.attachType &&
  targetSet(held.targets) === targetSet(group.targets);

/**
 * The steps that take the node from `held` to `desired`: attaches of the groups no held link
 * satisfies (in desired order), then releases of the held links no desired group keeps (in link
 * id order). `drainModule` labels the releases caused by a module drain.
 */
export const planReconcile = (
  desired: readonly LinkGroup[],
  held: readonly HeldLink[],
  options: {
    readonly drainModule?: string;
    /** assigned policy versions (default: those of `desired`); a policy may be assigned with no link to hold */
    readonly assigned?: ReadonlyMap<string, number>;
  } = {},
): readonly ReconcileStep[] => {
  const kept = new Set<number>();
  const attaches: ReconcileStep[] = [];
  for (const group of desired) {
    const match = held.find((h) => !kept.has(h.linkId) && satisfies(h, group));
    if (match) kept.add(match.linkId);
    else attaches.push({ kind: 'attach', group });
  }
  const desiredVersion =
    options.assigned ?? new Map(desired.map((g) => [g.policy, g.policyVersion]));
  const attachIdsOf = (policy: string): string[] =>
    attaches.flatMap((s) =>
      s.kind === 'attach' && s.group.policy === policy ? [groupId(s.group)] : [],
    );
  // policies whose assigned version has at least one link to hold (kept or to attach)
  const effective = new Set(desired.map((g) => g.policy));
  const draining = (link: HeldLink): boolean =>
    options.drainModule !== undefined && link.targets.some((t) => t.object === options.drainModule);
  const releases: ReconcileStep[] = held
    .filter((h) => !kept.has(h.linkId))
    .filter((h) => {
      const version = desiredVersion.get(h.policy);
      // an update that cannot attach anything here keeps the old version (not when draining)
      return (
        version === undefined ||
        version === h.policyVersion ||
        effective.has(h.policy) ||
        draining(h)
      );
    })
    .sort((a, b) => a.linkId - b.linkId)
    .map((link) => {
      const version = desiredVersion.get(link.policy);
      const reason = draining(link)
        ? `drain module ${options.drainModule ?? ''}`
        : version === undefined
          ? 'policy no longer assigned'
          : version !== link.policyVersion
            ? `replaced by ${link.policy} version ${version}`
            : 'targets changed';
      return { kind: 'release', link, reason, unless: attachIdsOf(link.policy) };
    });
  return [...attaches, ...releases];
};
