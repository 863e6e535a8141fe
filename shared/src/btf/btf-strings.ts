import { decodeUtf8, isAscii } from '../lib/utf8.js';

/**
 * A BTF string section as a lookup by offset. Offsets are global across a split chain: a split
 * object's own strings start at `start` (= the base's `end`), lower offsets resolve in the base.
 */
export interface BtfStringTable {
  /** first offset of this section in the chain's offset space (0 for a base) */
  readonly start: number;
  /** one past the last offset of this section; a split object on top of it starts here */
  readonly end: number;
  /** the NUL-terminated string at `offset`, or undefined when the offset is outside the chain */
  readonly at: (offset: number) => string | undefined;
}

/**
 * Wraps a string section (its bytes must end with NUL; validated by the parser). An all-ASCII
 * section (every kernel BTF in practice) is decoded once and sliced, which keeps parsing the
 * 5 MB vmlinux blob fast; otherwise each string is decoded as UTF-8 on first use.
 */
export const createStringTable = (bytes: Uint8Array, base?: BtfStringTable): BtfStringTable => {
  const start = base ? base.end : 0;
  const end = start + bytes.length;
  const inBase = (offset: number): string | undefined =>
    base && offset >= 0 && offset < start ? base.at(offset) : undefined;
  if (isAscii(bytes)) {
    const text = decodeUtf8(bytes);
    return {
      start,
      end,
      at: (offset) => {
        if (offset < start) return inBase(offset);
        if (offset >= end) return undefined;
        const local = offset - start;
        return text.slice(local, text.indexOf('\0', local));
      },
    };
  }
  const cache = new Map<number, string>();
  return {
    start,
    end,
    at: (offset) => {
      if (offset < start) return inBase(offset);
      if (offset >= end) return undefined;
      const cached = cache.get(offset);
      if (cached !== undefined) return cached;
      const local = offset - start;
      const stop = bytes.indexOf(0, local);
      const decoded = decodeUtf8(bytes.subarray(local, stop));
      cache.set(offset, decoded);
      return decoded;
    },
  };
};
