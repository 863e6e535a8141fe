/**
 * Bearer tokens for tests that call a coordinator's HTTP API in-process: issued through the
 * coordinator's own access-token edge (so they are facts of its log, as in production), cached
 * per coordinator and name. A name still active from an earlier coordinator on the same log is
 * revoked and issued again (its secret is not kept anywhere).
 */
import type { AccessRole } from '@tramway/shared/domain';
import type { FleetCoordinator } from '../../services/coordinator/src/fleet-coordinator.js';

const issued = new WeakMap<FleetCoordinator, Map<string, string>>();

/** A token `name` with `role` on `core` (issued once per coordinator). */
export const tokenFor = async (
  core: FleetCoordinator,
  name: string,
  role: AccessRole = 'operator',
): Promise<string> => {
  const known = issued.get(core) ?? new Map<string, string>();
  issued.set(core, known);
  const cached = known.get(name);
  if (cached !== undefined) return cached;
  const by = { actor: 'test' };
  let answer = await core.tokens.issue({ name, role }, by);
  if (answer.status === 409) {
    await core.tokens.revoke(name, { reason: 'test: issued again' }, by);
    answer = await core.tokens.issue({ name, role }, by);
  }
  if (answer.status !== 201) throw new Error(`token ${name}: ${JSON.stringify(answer.body)}`);
  const token = (answer.body as { token: string }).token;
  known.set(name, token);
  return token;
};

/** `{ authorization: 'Bearer …' }` for `name` on `core`. */
export const authAs = async (
  core: FleetCoordinator,
  name: string,
  role: AccessRole = 'operator',
): Promise<{ authorization: string }> => ({
  authorization: `Bearer ${await tokenFor(core, name, role)}`,
});
