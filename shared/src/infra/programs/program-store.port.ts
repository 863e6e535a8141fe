/**
 * Program objects, content addressed (ARCHITECTURE.md, "Programs"): a compiled BPF object is
 * stored once under the sha256 of its bytes and named by that digest in policies. One port, two
 * adapters: files under the data dir (embedded) and a JetStream Object Store bucket (NATS).
 * Every object is read as a BPF ELF (`readBpfObject`) and bounded in size before it is stored;
 * what is read back is checked against its digest by whoever loads it.
 */
import { createHash } from 'node:crypto';
import type { BpfObjectInfo, BpfSectionAttach } from '../../btf/bpf-object.js';
import { formatBpfObjectError, readBpfObject } from '../../btf/bpf-object.js';
import type { Result } from '../../lib/result.js';
import { err, ok } from '../../lib/result.js';

/** Largest object accepted (real CO-RE objects with BTF are tens of KiB to a few MiB). */
export const MAX_PROGRAM_OBJECT_BYTES = 8 << 20;

/** `sha256:` and 64 lowercase hex digits (as policy.validate.ts PROGRAM_OBJECT_DIGEST). */
export const PROGRAM_DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The content digest of an object's bytes: `sha256:<64 hex>`. */
export const programDigest = (bytes: Uint8Array): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** One program of a stored object, as the API and the CLI show it. */
export interface StoredProgramEntry {
  readonly name: string;
  readonly section: string;
  readonly attach: BpfSectionAttach;
  readonly sleepable: boolean;
  readonly target?: string;
  readonly instructions: number;
}

/** What is known of a stored object without reading its bytes again. */
export interface StoredProgramObject {
  readonly digest: string;
  readonly size: number;
  /** when it was first stored (ISO 8601) */
  readonly storedAt: string;
  readonly license: string | null;
  readonly hasBtf: boolean;
  readonly hasBtfExt: boolean;
  readonly programs: readonly StoredProgramEntry[];
}

/** The stored summary of an object read by `readBpfObject`. */
export const summarize = (
  digest: string,
  info: BpfObjectInfo,
  storedAt: string,
): StoredProgramObject => ({
  digest,
  size: info.size,
  storedAt,
  license: info.license ?? null,
  hasBtf: info.hasBtf,
  hasBtfExt: info.hasBtfExt,
  programs: info.programs.map((p) => ({
    name: p.name,
    section: p.section,
    attach: p.attach,
    sleepable: p.sleepable,
    ...(p.target === undefined ? {} : { target: p.target }),
    instructions: p.instructions,
  })),
});

/** Why bytes were not stored: too large, or not a BPF object (with the byte offset). */
export interface ProgramObjectRefusal {
  readonly code: 'TooLarge' | 'NotBpfObject';
  readonly message: string;
}

/** Bounds and reads bytes as a BPF object, ready to store under their digest. */
export const checkProgramObject = (
  bytes: Uint8Array,
  maxBytes: number = MAX_PROGRAM_OBJECT_BYTES,
): Result<{ digest: string; info: BpfObjectInfo }, ProgramObjectRefusal> => {
  if (bytes.length > maxBytes)
    return err({
      code: 'TooLarge',
      message: `the object is ${bytes.length} bytes, more than the ${maxBytes} accepted`,
    });
  const read = readBpfObject(bytes);
  if (!read.ok) return err({ code: 'NotBpfObject', message: formatBpfObjectError(read.error) });
  return ok({ digest: programDigest(bytes), info: read.value });
};

export interface ProgramStore {
  /**
   * Stores an object (bounded, read as a BPF ELF first); storing the same bytes again changes
   * nothing (`created` false, the first `storedAt` kept).
   */
  put(
    bytes: Uint8Array,
    now: Date,
  ): Promise<Result<StoredProgramObject & { readonly created: boolean }, ProgramObjectRefusal>>;
  /** The summary of the object with this digest; undefined when none is stored. */
  info(digest: string): Promise<StoredProgramObject | undefined>;
  /** The object's bytes as stored (the caller checks them against the digest). */
  get(digest: string): Promise<Uint8Array | undefined>;
  /** Every stored object's summary, by digest. */
  list(): Promise<readonly StoredProgramObject[]>;
  close(): Promise<void>;
}

/** What verifying a fetched object against a policy's program found wrong. */
export interface ProgramObjectProblem {
  /** `missing`: no such object; `mismatch`: bytes not of that digest; `invalid`: not a BPF
   * object; `no-program`: the object holds no program of that name */
  readonly kind: 'missing' | 'mismatch' | 'invalid' | 'no-program';
  readonly message: string;
}

/** A program object whose bytes have the digest they were asked by, holding the program. */
export interface VerifiedProgramObject {
  readonly digest: string;
  readonly bytes: Uint8Array;
  readonly program: StoredProgramEntry;
  readonly info: BpfObjectInfo;
}

/**
 * Checks fetched bytes before anything is loaded from them: their sha256 is `digest`, they are a
 * BPF object, and it holds a program named `program`.
 */
export const verifyProgramObject = (
  digest: string,
  program: string,
  bytes: Uint8Array | undefined,
): Result<VerifiedProgramObject, ProgramObjectProblem> => {
  if (bytes === undefined)
    return err({ kind: 'missing', message: `program object ${digest} is not stored` });
  const actual = programDigest(bytes);
  if (actual !== digest)
    return err({
      kind: 'mismatch',
      message: `program object ${digest}: the bytes fetched (${bytes.length}) have digest ${actual}`,
    });
  const read = readBpfObject(bytes);
  if (!read.ok)
    return err({
      kind: 'invalid',
      message: `program object ${digest}: ${formatBpfObjectError(read.error)}`,
    });
  const found = read.value.programs.find((p) => p.name === program);
  if (found === undefined)
    return err({
      kind: 'no-program',
      message: `program object ${digest} holds no program ${program} (it holds: ${read.value.programs.map((p) => p.name).join(', ')})`,
    });
  const entry = summarize(digest, read.value, '').programs.find((p) => p.name === program)!;
  return ok({ digest, bytes, program: entry, info: read.value });
};
