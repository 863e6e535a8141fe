import type { BtfIntType } from '@tramway/shared/kernel';

/** A plain signed 32-bit `int`, as hand-assembled BTF fixtures declare it. */
export const BTF_INT: BtfIntType = {
  kind: 'int',
  name: 'int',
  size: 4,
  signed: true,
  char: false,
  bool: false,
  bitOffset: 0,
  bits: 32,
};
