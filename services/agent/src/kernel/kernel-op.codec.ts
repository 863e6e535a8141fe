/**
 * JSON form of kernel operations for the op log: bigints (cookies, return values) become
 * `{"$bigint":"<decimal>"}` and come back as bigints.
 */
import type { KernelOp } from '@tramway/shared/kernel';

export const encodeKernelOp = (op: KernelOp): string =>
  JSON.stringify(op, (_key, value: unknown) =>
    typeof value === 'bigint' ? { $bigint: value.toString() } : value,
  );

export const decodeKernelOp = (text: string): KernelOp =>
  JSON.parse(text, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && '$bigint' in value) {
      const digits = (value as { $bigint: unknown }).$bigint;
      if (typeof digits === 'string' && /^-?[0-9]+$/.test(digits)) return BigInt(digits);
    }
    return value;
  }) as KernelOp;
