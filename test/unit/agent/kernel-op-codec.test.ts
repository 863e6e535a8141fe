import { describe, expect, it } from 'vitest';
import type { KernelOp } from '../../../shared/src/kernel/index.js';
import {
  decodeKernelOp,
  encodeKernelOp,
} from '../../../services/agent/src/kernel/kernel-op.codec.js';

describe('kernel op codec', () => {
  it('round-trips operations with u64 cookies and return values exactly', () => {
    const ops: KernelOp[] = [
      {
        op: 'link_create',
        prog: 1,
        targets: [{ object: 'vmlinux', btfId: 16 }],
        cookies: [18446744073709551615n, 0n],
      },
      {
        op: 'prog_load',
        name: 'p',
        attach: 'fmod_ret',
        origin: { name: 'f' },
        returns: -22n,
        reads: [0, 'ret'],
      },
      { op: 'module_unload', module: 'nf_tables' },
    ];
    for (const op of ops) expect(decodeKernelOp(encodeKernelOp(op))).toEqual(op);
  });
});
