import type { NewEvent } from '../../lib/event-envelope.js';

/** What an exact retry must repeat of a stored event; metadata is not part of it. */
export interface EventContent {
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
}

/**
 * JSON text of `value` with object keys sorted at every depth, so two values that store as the
 * same JSON compare equal whatever their key order (and `undefined` members, dropped by JSON,
 * do not count).
 */
export const canonicalJson = (value: unknown): string | undefined =>
  JSON.stringify(value, (_key, member: unknown) => {
    if (typeof member !== 'object' || member === null || Array.isArray(member)) return member;
    const record = member as Record<string, unknown>;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(record).sort()) sorted[key] = record[key];
    return sorted;
  });

/**
 * How `sent` differs from the `stored` event with the same id ("data differs", ...), or
 * undefined when it is an exact retry: same type, same schemaVersion and data that stores as the
 * same JSON. Metadata (occurredAt, actor, ...) is not compared: a re-send may carry its own.
 */
export const contentDifference = (stored: EventContent, sent: NewEvent): string | undefined => {
  const differences: string[] = [];
  if (stored.type !== sent.type) {
    differences.push(`type differs (stored "${stored.type}", sent "${sent.type}")`);
  }
  if (stored.schemaVersion !== sent.schemaVersion) {
    differences.push(
      `schemaVersion differs (stored ${stored.schemaVersion}, sent ${sent.schemaVersion})`,
    );
  }
  if (canonicalJson(stored.data) !== canonicalJson(sent.data)) differences.push('data differs');
  return differences.length === 0 ? undefined : differences.join(', ');
};

/**
 * The detail of an `EventIdConflictError` for stored ids sent again with other content, from the
 * `[id, difference]` pairs of the ids that differ.
 */
export const contentConflictDetail = (differing: readonly (readonly [string, string])[]): string =>
  `already stored with different content (${differing
    .slice(0, 5)
    .map(([id, difference]) => `"${id}": ${difference}`)
    .join(
      '; ',
    )}${differing.length > 5 ? '; ...' : ''}); an exact retry must repeat type, schemaVersion and data`;
