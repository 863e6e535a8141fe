/**
 * An immutable map with structural sharing, so that an operation on a kernel with 50k
 * trampolines copies what it touches, not the whole table. Keys are spread over a fixed number
 * of buckets; a new version shares every bucket it did not change. A draft copies the bucket
 * array once and each touched bucket at most once, so one operation that writes k keys costs
 * O(BUCKETS + touched bucket sizes), and a 50k-target attach stays linear.
 *
 * Iteration order is bucket order, then insertion order within a bucket: deterministic for a
 * given history (replay gives the same order), but not global insertion order. Callers that
 * present lists sort them.
 */

const BUCKETS = 1024;

type Key = string | number;

const bucketOf = (k: Key): number => {
  if (typeof k === 'number') return (k >>> 0) & (BUCKETS - 1);
  let h = 0x811c9dc5;
  for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x01000193);
  return (h >>> 0) & (BUCKETS - 1);
};

/** A persistent map version; never changed after construction. */
export class PersistentMap<K extends Key, V> implements ReadonlyMap<K, V> {
  readonly #buckets: readonly (ReadonlyMap<K, V> | undefined)[];
  readonly size: number;

  constructor(buckets: readonly (ReadonlyMap<K, V> | undefined)[], size: number) {
    this.#buckets = buckets;
    this.size = size;
  }

  /** internal: the bucket array, for drafts */
  bucketsForDraft(): readonly (ReadonlyMap<K, V> | undefined)[] {
    return this.#buckets;
  }

  get(k: K): V | undefined {
    return this.#buckets[bucketOf(k)]?.get(k);
  }

  has(k: K): boolean {
    return this.#buckets[bucketOf(k)]?.has(k) ?? false;
  }

  forEach(cb: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    for (const [k, v] of this.entries()) cb(v, k, this);
  }

  *entries(): MapIterator<[K, V]> {
    for (const b of this.#buckets) if (b !== undefined) yield* b.entries();
  }

  *keys(): MapIterator<K> {
    for (const b of this.#buckets) if (b !== undefined) yield* b.keys();
  }

  *values(): MapIterator<V> {
    for (const b of this.#buckets) if (b !== undefined) yield* b.values();
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  /** Plain data for deep equality and JSON: the entries in iteration order. */
  toJSON(): [K, V][] {
    return [...this.entries()];
  }
}

const EMPTY_BUCKETS: readonly undefined[] = new Array<undefined>(BUCKETS).fill(undefined);

export const emptyPersistentMap = <K extends Key, V>(): PersistentMap<K, V> =>
  new PersistentMap<K, V>(EMPTY_BUCKETS, 0);

/** The working copy of one map during one operation. */
export interface MapDraft<K extends Key, V> {
  get(k: K): V | undefined;
  has(k: K): boolean;
  set(k: K, v: V): void;
  delete(k: K): void;
  readonly size: number;
  /** the new version (the draft must not be used afterwards) */
  finish(): PersistentMap<K, V>;
}

/** Starts a draft from any map (a non-persistent one is converted first). */
export const draftMap = <K extends Key, V>(from: ReadonlyMap<K, V>): MapDraft<K, V> => {
  let base: readonly (ReadonlyMap<K, V> | undefined)[];
  let size: number;
  if (from instanceof PersistentMap) {
    base = (from as PersistentMap<K, V>).bucketsForDraft();
    size = from.size;
  } else {
    const fresh: (Map<K, V> | undefined)[] = new Array<Map<K, V> | undefined>(BUCKETS).fill(
      undefined,
    );
    for (const [k, v] of from) {
      const i = bucketOf(k);
      (fresh[i] ??= new Map()).set(k, v);
    }
    base = fresh;
    size = from.size;
  }
  let buckets: (ReadonlyMap<K, V> | undefined)[] | null = null;
  const owned = new Uint8Array(BUCKETS);
  const writable = (i: number): Map<K, V> => {
    buckets ??= base.slice();
    if (owned[i] === 0) {
      const prev = buckets[i];
      buckets[i] = prev === undefined ? new Map() : new Map(prev);
      owned[i] = 1;
    }
    return buckets[i] as Map<K, V>;
  };
  const read = (k: K): ReadonlyMap<K, V> | undefined => (buckets ?? base)[bucketOf(k)];
  return {
    get: (k) => read(k)?.get(k),
    has: (k) => read(k)?.has(k) ?? false,
    set: (k, v) => {
      const b = writable(bucketOf(k));
      const before = b.size;
      b.set(k, v);
      size += b.size - before;
    },
    delete: (k) => {
      if (read(k)?.has(k) !== true) return;
      writable(bucketOf(k)).delete(k);
      size--;
    },
    get size() {
      return size;
    },
    finish: () => new PersistentMap<K, V>(buckets ?? base, size),
  };
};
