import { describe, expect, it } from 'vitest';
import { dumpState } from '@tramway/shared/kernel';
import {
  fixtureSpec,
  given,
  kernelOf,
  link,
  load,
  moduleRefcount,
  trampRecord,
  ts,
} from '../../support/kernel-fixtures.js';

const v24 = fixtureSpec('v24');
const v26 = fixtureSpec('v26');

describe('prog_load (spec §2.1, §3.12) — V24 and single programs', () => {
  for (const profile of ['v24', 'v26'] as const) {
    const spec = fixtureSpec(profile);
    describe(`profile ${profile}`, () => {
      it('rejects a program without origin: "no BTF-based attach target" EINVAL (§5.1)', () => {
        given(spec).when(load('p', 'fentry')).thenRejects('EINVAL');
      });
      it('rejects an unknown origin name with ESRCH (libbpf lookup, §5.1)', () => {
        given(spec)
          .when(load('p', 'fentry', 'nope'))
          .thenRejects('ESRCH');
      });
      it('rejects an origin that is a STRUCT, not a FUNC (§3.12.2)', () => {
        given(spec)
          .when({
            op: 'prog_load',
            name: 'p',
            attach: 'fentry',
            origin: { object: 'vmlinux', type: 'S2' },
          })
          .thenRejects('EINVAL');
      });
      it('rejects btf id 0 as origin: "must provide btf_id" (§3.12.1)', () => {
        given(spec)
          .when({
            op: 'prog_load',
            name: 'p',
            attach: 'fentry',
            origin: { object: 'vmlinux', btfId: 0 },
          })
          .thenRejects('EINVAL');
      });
      it('rejects an out-of-range btf id (§3.12.1)', () => {
        given(spec)
          .when({
            op: 'prog_load',
            name: 'p',
            attach: 'fentry',
            origin: { object: 'vmlinux', btfId: 99999 },
          })
          .thenRejects('EINVAL');
      });
      it.each(['too_many', 'big_struct', 'zero_struct', 'var_fn', 'struct_ret'])(
        'rejects origin %s whose prototype cannot be distilled (§3.12.3)',
        (fn) => {
          given(spec)
            .when(load('p', 'fentry', fn))
            .thenRejects('EINVAL');
        },
      );
      it('accepts exactly 12 parameters (MAX_BPF_FUNC_ARGS, §3.12.3)', () => {
        given(spec)
          .when(load('p', 'fentry', 'twelve'))
          .thenOk();
      });
      it('rejects a function without an address with ENOENT (§3.12.4)', () => {
        given(spec)
          .when(load('p', 'fentry', 'no_addr'))
          .thenRejects('ENOENT');
      });
      it('rejects a user BTF origin with EOPNOTSUPP (not a kernel BTF)', () => {
        given(spec)
          .when(load('p', 'fentry', 'ubtf:u1'))
          .thenRejects('EOPNOTSUPP');
      });
      it('rejects an origin in a going module with ENOENT (§3.8)', () => {
        given(spec, { op: 'module_set_state', module: 'M', state: 'going' })
          .when(load('p', 'fentry', 'M:m1'))
          .thenRejects('ENOENT');
      });
      it('rejects btf_id_deny origins at load (§3.12.7)', () => {
        given(spec)
          .when(load('p', 'fentry', 'migrate_disable'))
          .thenRejects('EINVAL');
      });
      it('rejects fexit and fmod_ret on a __noreturn origin but allows fentry (§3.12.7)', () => {
        given(spec)
          .when(load('p', 'fexit', 'do_exit'))
          .thenRejects('EINVAL');
        given(spec)
          .when(load('p', 'fentry', 'do_exit'))
          .thenOk();
      });
      it('sleepable: error-injectable ok, fmodret KF_SLEEPABLE ok, others EINVAL (§3.12.5)', () => {
        given(spec)
          .when(load('p', 'fentry.s', 'err_inj_a'))
          .thenOk();
        given(spec)
          .when(load('p', 'fentry.s', 'fmodret_sleep_fn'))
          .thenOk();
        given(spec)
          .when(load('p', 'fentry.s', 'err_inj_nonsleep'))
          .thenRejects('EINVAL');
        given(spec)
          .when(load('p', 'fentry.s', 'f1'))
          .thenRejects('EINVAL');
        given(spec)
          .when(load('p', 'fentry.s', 'fmodret_set_fn'))
          .thenRejects('EINVAL');
      });
      it('fmod_ret: fmodret set, error-injection list or security_* only (§3.12.6)', () => {
        given(spec)
          .when(load('p', 'fmod_ret', 'fmodret_set_fn'))
          .thenOk();
        given(spec)
          .when(load('p', 'fmod_ret', 'bpf_modify_return_test'))
          .thenOk();
        given(spec)
          .when(load('p', 'fmod_ret', 'security_file_open'))
          .thenOk();
        given(spec)
          .when(load('p', 'fmod_ret', 'f1'))
          .thenRejects('EINVAL');
      });
      it('fentry/fexit must return 0; fmod_ret may return anything (§2.1.6)', () => {
        given(spec)
          .when(load('p', 'fentry', 'f1', { returns: 1n }))
          .thenRejects('EINVAL');
        given(spec)
          .when(load('p', 'fexit', 'f1', { returns: -1n }))
          .thenRejects('EINVAL');
        given(spec)
          .when(load('p', 'fmod_ret', 'err_inj_a', { returns: -22n }))
          .thenOk();
      });
      it('reading an argument index ≥ nargs is refused by the verifier with EACCES (§2.1.5)', () => {
        given(spec)
          .when(load('p', 'fentry', 'f2', { reads: [2] }))
          .thenRejects('EACCES');
        given(spec)
          .when(load('p', 'fentry', 'f2', { reads: [1] }))
          .thenOk();
      });
      it('the return slot: fexit (non-void) and fmod_ret (small int) only (§2.1.5)', () => {
        given(spec)
          .when(load('p', 'fentry', 'f1', { reads: ['ret'] }))
          .thenRejects('EACCES');
        given(spec)
          .when(load('p', 'fexit', 'f1', { reads: ['ret'] }))
          .thenOk();
        given(spec)
          .when(load('p', 'fexit', 'f7', { reads: ['ret'] }))
          .thenRejects('EACCES');
        given(spec)
          .when(load('p', 'fexit', 'ret_ptr', { reads: ['ret'] }))
          .thenOk();
        given(spec)
          .when(load('p', 'fmod_ret', 'err_inj_a', { reads: ['ret'] }))
          .thenOk();
      });
      it('ctx byte offsets must be multiples of 8 inside args (+ return slot for fexit) (§2.1.4)', () => {
        given(spec)
          .when(load('p', 'fentry', 'f3', { ctxReads: [4] }))
          .thenRejects('EACCES');
        given(spec)
          .when(load('p', 'fentry', 'f3', { ctxReads: [24] }))
          .thenRejects('EACCES');
        given(spec)
          .when(load('p', 'fexit', 'f3', { ctxReads: [24] }))
          .thenOk();
        given(spec)
          .when(load('p', 'fexit', 'f3', { ctxReads: [32] }))
          .thenRejects('EACCES');
      });
      it('takes the origin trampoline at load with no connection (dst_trampoline, §2.1.9)', () => {
        const { state } = given(spec)
          .when(load('p', 'fentry', 'f1'))
          .thenOk();
        expect(trampRecord(state, 'f1')).toMatchObject({
          refcnt: 1,
          fentry: [],
          fexit: [],
          fmodRet: [],
        });
      });
      it('pins the origin module for the program lifetime (§1.3, §4.2)', () => {
        const g = given(spec, load('p', 'fentry', 'M:m1'));
        expect(moduleRefcount(g.state, 'M')).toBe(1);
        g.when({ op: 'module_unload', module: 'M' }).thenRejects('EAGAIN');
        const freed = given(g.state, { op: 'prog_release', prog: 1 });
        expect(moduleRefcount(freed.state, 'M')).toBe(0);
        expect(dumpState(freed.state).trampolines).toEqual([]);
        freed.when({ op: 'module_unload', module: 'M' }).thenOk();
      });
      it('rejects unknown attach types and fsession without .multi (§1.1)', () => {
        given(spec)
          .when(load('p', 'kprobe', 'f1'))
          .thenRejects('EINVAL');
        given(spec)
          .when(load('p', 'fsession', 'f1'))
          .thenRejects('EINVAL');
      });
    });
  }
});

describe('prog_load ctx offsets map to argument indices (spec §2.1.4)', () => {
  it('an offset inside a 16-byte struct sets only that struct bit: reading off 8 of struct_arg_1 makes arg0 accessed', () => {
    // struct_arg_1(struct S2, int, int): arg0 covers [0,16); reading off 8 = arg0, which
    // struct_arg_2 does not have at offset 0 with the same type → the multi attach fails.
    const g = given(v24, load('p', 'fentry.multi', 'struct_arg_1', { ctxReads: [8] }));
    g.when(link(1, ts('struct_arg_2'))).thenRejects('EINVAL');
  });
  it('offset 16 of struct_arg_1 is arg1 (an int at offset 16 in struct_arg_2 too) → compatible', () => {
    const g = given(v24, load('p', 'fentry.multi', 'struct_arg_1', { ctxReads: [16] }));
    g.when(link(1, ts('struct_arg_2'))).thenOk();
  });
});

describe('prog_load — V24 multi specifics (spec §2.1)', () => {
  it('the __noreturn check also covers fexit.multi/fmod_ret.multi origins (documented choice)', () => {
    given(v24)
      .when(load('p', 'fexit.multi', 'do_exit'))
      .thenRejects('EINVAL');
    given(v24)
      .when(load('p', 'fentry.multi', 'do_exit'))
      .thenOk();
  });
  it('fsession.multi does not exist in v24', () => {
    given(v24)
      .when(load('p', 'fsession.multi', 'f1'))
      .thenRejects('EINVAL');
  });
  it('fmod_ret.multi loads in v24 against a modifiable origin', () => {
    given(v24)
      .when(load('p', 'fmod_ret.multi', 'err_inj_a'))
      .thenOk();
  });
});

describe('prog_load — V26 multi (spec §2.2)', () => {
  it('refuses any ctx argument read with EACCES: bpf_multi_func has no arguments', () => {
    const reason = given(v26)
      .when(load('p', 'fentry.multi', undefined, { reads: [0] }))
      .thenRejects('EACCES');
    expect(reason).toContain("bpf_multi_func' doesn't have 1-th argument");
    expect(
      given(v26)
        .when(load('p', 'fexit.multi', undefined, { ctxReads: [24] }))
        .thenRejects('EACCES'),
    ).toContain('invalid bpf_context access off=24');
    given(v26)
      .when(load('p', 'fsession.multi', undefined, { ctxReads: [16] }))
      .thenRejects('EACCES');
    given(v26)
      .when(load('p', 'fexit.multi', undefined, { reads: ['ret'] }))
      .thenRejects('EACCES');
  });
  it('has no MODIFY_RETURN_MULTI: fmod_ret.multi fails at load', () => {
    given(v26).when(load('p', 'fmod_ret.multi')).thenRejects('EINVAL');
  });
  it('loads fsession.multi and sleepable multi programs (per-target sleepable check is at attach)', () => {
    given(v26).when(load('p', 'fsession.multi')).thenOk();
    given(v26).when(load('p', 'fentry.multi.s')).thenOk();
  });
  it('takes no trampoline at load and rejects an origin', () => {
    const { state } = given(v26).when(load('p', 'fentry.multi')).thenOk();
    expect(dumpState(state).trampolines).toEqual([]);
    given(v26)
      .when(load('p', 'fentry.multi', 'f1'))
      .thenRejects('EINVAL');
  });
  it('pins the attach-object module for the program lifetime', () => {
    const g = given(v26, load('p', 'fentry.multi', undefined, { object: 'M' }));
    expect(moduleRefcount(g.state, 'M')).toBe(1);
    g.when({ op: 'module_unload', module: 'M' }).thenRejects('EAGAIN');
  });
  it('attach object: unknown → ESRCH, user BTF → EOPNOTSUPP, going module → ENOENT', () => {
    given(v26)
      .when(load('p', 'fentry.multi', undefined, { object: 'nope' }))
      .thenRejects('ESRCH');
    given(v26)
      .when(load('p', 'fentry.multi', undefined, { object: 'L' }))
      .thenRejects('ESRCH');
    given(v26)
      .when(load('p', 'fentry.multi', undefined, { object: 'ubtf' }))
      .thenRejects('EOPNOTSUPP');
    given(v26, { op: 'module_set_state', module: 'M', state: 'going' })
      .when(load('p', 'fentry.multi', undefined, { object: 'M' }))
      .thenRejects('ENOENT');
  });
});

describe('prog_load identifiers', () => {
  it('assigns increasing program ids', () => {
    const s = kernelOf(v24);
    const a = given(s)
      .when(load('a', 'fentry', 'f1'))
      .thenOk();
    expect(a.value).toEqual({ progId: 1 });
    const b = given(a.state)
      .when(load('b', 'fentry', 'f1'))
      .thenOk();
    expect(b.value).toEqual({ progId: 2 });
  });
  it('resolves a bare name in vmlinux first, then loaded modules in declaration order (§5.1)', () => {
    const g = given(v24)
      .when(load('p', 'fentry', 'shared_name'))
      .thenOk();
    const tr = [...g.state.tramps.values()][0];
    expect(tr?.objId).toBe(2); // M is declared before N
    given(v24)
      .when(load('p', 'fentry', 'l1'))
      .thenRejects('ESRCH');
  });
});
