import { describe, it } from 'vitest';
import { fixtureSpec, given, link, load, ts } from '../../support/kernel-fixtures.js';

const v24 = fixtureSpec('v24');

/** Loads a multi program with `origin` reading `reads`, then attaches to `target`. */
const attach = (
  attach: string,
  origin: string,
  reads: readonly (number | 'ret')[],
  target: string,
) => given(v24, load('p', attach, origin, { reads })).when(link(1, ts(target)));

describe('btf_check_func_part_match (spec §3.3)', () => {
  it('origin struct_arg_1 reading arg0 (S2) vs struct_arg_2: kind mismatch at offset 0 → EINVAL (vector 11)', () => {
    attach('fentry.multi', 'struct_arg_1', [0], 'struct_arg_2').thenRejects('EINVAL');
  });
  it('matches by offset, not index: reading c (off 24) matches struct_arg_2 d (int at 24)', () => {
    attach('fentry.multi', 'struct_arg_1', [2], 'struct_arg_2').thenOk();
  });
  it('an offset that falls inside a 16-byte struct of the target → EINVAL', () => {
    // f3(char, int, u64) reading arg1 (off 8): struct_arg_1 has S2 covering [0,16)
    attach('fentry.multi', 'f3', [1], 'struct_arg_1').thenRejects('EINVAL');
  });
  it('a target too short for the offset → EINVAL', () => {
    attach('fentry.multi', 'f3', [2], 'f2').thenRejects('EINVAL');
  });
  it('identical void * args with different prototype objects → EINVAL (vector 13)', () => {
    attach('fentry.multi', 'vptr_a', [0], 'vptr_b').thenRejects('EINVAL');
  });
  it('the same deduplicated FUNC_PROTO passes immediately, even for void * (§3.2 11f)', () => {
    attach('fentry.multi', 'vptr_a', [0], 'vptr_c').thenOk();
    attach('fentry.multi', 'f4', [0], 'f4').thenOk();
  });
  it('int ↔ unsigned int ↔ u32 typedef match; _Bool ↔ char match', () => {
    attach('fentry.multi', 'f1', [0], 'f8').thenOk();
    attach('fentry.multi', 'f1', [0], 'u32_fn').thenOk();
    attach('fentry.multi', 'bool_fn', [0], 'char_fn').thenOk();
  });
  it('int ↔ long differ in size → EINVAL', () => {
    attach('fentry.multi', 'f1', [0], 'f6').thenRejects('EINVAL');
  });
  it('enums with a different number of values differ in vlen → EINVAL; int vs enum kind → EINVAL', () => {
    attach('fentry.multi', 'enum3_fn', [0], 'enum4_fn').thenRejects('EINVAL');
    attach('fentry.multi', 'f1', [0], 'enum3_fn').thenRejects('EINVAL');
  });
  it('pointers to structs with equal names match (modifiers stripped); different names → EINVAL', () => {
    attach('fentry.multi', 'file_a', [0], 'file_b').thenOk();
    attach('fentry.multi', 'file_a', [0], 'inode_a').thenRejects('EINVAL');
  });
  it('struct vs union pointee with the same name passes', () => {
    attach('fentry.multi', 'file_a', [0], 'union_file').thenOk();
  });
  it('a pointer against an integer → EINVAL', () => {
    attach('fentry.multi', 'file_a', [0], 'f6').thenRejects('EINVAL');
  });
  it('return value: different total argument footprint → EINVAL (vector 15)', () => {
    attach('fexit.multi', 'ret_int_3', ['ret'], 'ret_int_2').thenRejects('EINVAL');
  });
  it('return value: equal footprint and compatible types → OK; int vs long return → EINVAL', () => {
    attach('fexit.multi', 'ret_int_3', ['ret'], 'f3').thenOk();
    attach('fexit.multi', 'ret_int_3', ['ret'], 'ret_long_3').thenRejects('EINVAL');
  });
  it('return value vs a void-returning target → EINVAL', () => {
    attach('fexit.multi', 'err_inj_b', ['ret'], 'f7').thenRejects('EINVAL');
  });
  it('only accessed bits are compared: reading arg1 of f2 ignores the arg0 difference', () => {
    given(v24, load('p', 'fentry.multi', 'f2', { reads: [1] }))
      .when(link(1, ts('f2', 'M:m2')))
      .thenOk();
  });
  it('applies to fmod_ret.multi reading the return value too', () => {
    attach('fmod_ret.multi', 'err_inj_a', ['ret'], 'err_inj_b').thenRejects('EINVAL');
  });
});
