import { describe, expect, it } from 'vitest';
import { findFailingTarget } from '../../../services/agent/src/kernel-driver/bpf/bpf-kernel.driver.js';
import { sysError } from '../../../services/agent/src/kernel-driver/bpf/bpf-syscall.js';

/** A kernel stand-in refusing any link that includes one of `bad` (fd -1: nothing to close). */
const kernelRefusing = (bad: readonly number[], errno = 22) => {
  const tried: [number, number][] = [];
  const attempt = (from: number, to: number) => {
    tried.push([from, to]);
    return bad.some((b) => b >= from && b < to)
      ? sysError(errno)
      : { ok: true as const, value: -1 };
  };
  return { attempt, tried };
};

describe('findFailingTarget', () => {
  it.each([0, 1, 500, 998, 999])('finds target %i of 1000 in about log2(1000) tries', (bad) => {
    const k = kernelRefusing([bad]);

    const found = findFailingTarget(1000, k.attempt);

    expect(found).toEqual({ index: bad, error: { ok: false, errno: 22, name: 'EINVAL' } });
    expect(k.tried.length).toBeLessThanOrEqual(11);
  });

  it('names the first of several refused targets', () => {
    expect(findFailingTarget(64, kernelRefusing([40, 7, 33]).attempt)?.index).toBe(7);
  });

  it('names none when no target is refused alone (the refusal came from the whole link)', () => {
    const whole = (from: number, to: number) =>
      to - from > 5 ? sysError(7) : { ok: true as const, value: -1 };

    expect(findFailingTarget(16, whole)).toBeUndefined();
  });
});
