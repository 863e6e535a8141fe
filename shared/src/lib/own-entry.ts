/**
 * Lookups in records keyed by names from requests and events (node ids, policy names, rollout
 * ids): a name like `constructor` or `toString` must not find Object.prototype's member.
 */
export const ownEntry = <V>(record: Readonly<Record<string, V>>, key: string): V | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;
