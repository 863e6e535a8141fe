/**
 * Hand-assembled BPF programs the driver and the tests load without a compiler. Pure
 * (instruction bytes), except `cookieCounterMap`, which creates the map.
 *
 * `cookieCounter(mapFd)` counts calls per attach cookie: `key = bpf_get_attach_cookie(ctx);
 * v = map[key]; if (v) atomically *v += 1; return 0`. Cookies are pre-set in the hash map (value
 * 0) by whoever attaches, so the program needs no update path; a call with a cookie nobody set is
 * not counted. It is what the VM tier uses to see each function fire once per call with its own
 * cookie (fentry, fentry.multi, kprobe.multi, raw_tp with a cookie: every program type with
 * `bpf_get_attach_cookie`).
 */
import type { SysResult } from './bpf-syscall.js';
import { BpfCmd, bpf, newAttr } from './bpf-syscall.js';
import { mapLookup, mapUpdate } from './bpf-commands.js';

/** One 8-byte instruction: opcode, dst/src registers, 16-bit offset, 32-bit immediate. */
const insn = (code: number, dst: number, src: number, off: number, imm: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeUInt8(code, 0);
  b.writeUInt8(((src & 0xf) << 4) | (dst & 0xf), 1);
  b.writeInt16LE(off, 2);
  b.writeInt32LE(imm, 4);
  return b;
};

const BPF_FUNC_MAP_LOOKUP_ELEM = 1;
const BPF_FUNC_GET_ATTACH_COOKIE = 174;
const BPF_PSEUDO_MAP_FD = 1;

/** The cookie counter's instructions, with `mapFd` in its map load. */
export const cookieCounter = (mapFd: number): Buffer =>
  Buffer.concat([
    insn(0x85, 0, 0, 0, BPF_FUNC_GET_ATTACH_COOKIE), // r0 = bpf_get_attach_cookie(r1)
    insn(0x7b, 10, 0, -8, 0), // *(u64 *)(r10 - 8) = r0
    insn(0xbf, 2, 10, 0, 0), // r2 = r10
    insn(0x07, 2, 0, 0, -8), // r2 += -8
    insn(0x18, 1, BPF_PSEUDO_MAP_FD, 0, mapFd), // r1 = map (ld_imm64, first half)
    insn(0x00, 0, 0, 0, 0), //                   (ld_imm64, second half)
    insn(0x85, 0, 0, 0, BPF_FUNC_MAP_LOOKUP_ELEM), // r0 = bpf_map_lookup_elem(r1, r2)
    insn(0x15, 0, 0, 2, 0), // if r0 == 0 goto +2
    insn(0xb7, 1, 0, 0, 1), // r1 = 1
    insn(0xdb, 0, 1, 0, 0), // lock *(u64 *)(r0 + 0) += r1
    insn(0xb7, 0, 0, 0, 0), // r0 = 0
    insn(0x95, 0, 0, 0, 0), // exit
  ]);

/** BPF_MAP_TYPE_HASH with u64 keys (cookies) and u64 values (counts). */
export const cookieCounterMap = (entries: number, name = 'tw_counts'): SysResult<number> => {
  const attr = newAttr();
  attr.writeUInt32LE(1, 0); // BPF_MAP_TYPE_HASH
  attr.writeUInt32LE(8, 4);
  attr.writeUInt32LE(8, 8);
  attr.writeUInt32LE(entries, 12);
  attr.write(name.slice(0, 15), 28, 15, 'utf8');
  return bpf(BpfCmd.MAP_CREATE, attr);
};

const u64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return b;
};

/** Sets `cookie`'s count to 0 (so the program counts it). */
export const watchCookie = (mapFd: number, cookie: bigint): SysResult<number> =>
  mapUpdate(mapFd, u64(cookie), u64(0n));

/** The count of `cookie`, or ENOENT when it is not watched. */
export const countOf = (mapFd: number, cookie: bigint): SysResult<bigint> => {
  const value = Buffer.alloc(8);
  const r = mapLookup(mapFd, u64(cookie), value);
  return r.ok ? { ok: true, value: value.readBigUInt64LE(0) } : r;
};
