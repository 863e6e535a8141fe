import { describe, expect, it } from 'vitest';
import { dumpState } from '@tramway/shared/kernel';
import {
  connectionsOf,
  fixtureSpec,
  given,
  link,
  load,
  moduleRefcount,
  t,
  trampolineOf,
  trampRecord,
  ts,
} from '../../support/kernel-fixtures.js';

const v24 = fixtureSpec('v24');
const progF1 = load('p', 'fentry.multi', 'f1');

describe('V24 multi link_create — check order of spec §3.2', () => {
  it('row 2: cnt 0 is EINVAL (vector 4)', () => {
    given(v24, progF1).when(link(1, [])).thenRejects('EINVAL');
  });
  it('row 3: cnt above MAX_TRACING_MULTI_CNT (1024) is E2BIG, before the arrays are read (vector 5)', () => {
    given(v24, progF1)
      .when(link(1, ts('f1'), undefined, 1025))
      .thenRejects('E2BIG');
    given(v24, progF1)
      .when(link(1, ts('f1'), undefined, 1024))
      .thenRejects('EFAULT');
  });
  it('row 4: a cookies array shorter than cnt faults (EFAULT)', () => {
    given(v24, progF1)
      .when(link(1, ts('f1', 'f2'), [1n]))
      .thenRejects('EFAULT');
  });
  it('row 6: btf_ids NULL with cnt 3 is EINVAL (vector 6)', () => {
    given(v24, progF1)
      .when(link(1, [], undefined, 3))
      .thenRejects('EINVAL');
  });
  it('row 8: a zero btf id is EINVAL before any trampoline is touched (vector 7)', () => {
    given(v24, progF1)
      .when(link(1, [t('f1'), { object: 'vmlinux', btfId: 0 }]))
      .thenRejects('EINVAL');
  });
  it('row 8 comes before row 10: id 0 on an already multi-attached program is EINVAL, not EEXIST', () => {
    given(v24, progF1, link(1, ts('f1')))
      .when(link(1, [{ object: 'vmlinux', btfId: 0 }]))
      .thenRejects('EINVAL');
  });
  it('row 10: one multi link per program lifetime — EEXIST while linked and after release (§9.2a)', () => {
    given(v24, progF1, link(1, ts('f1')))
      .when(link(1, ts('f2')))
      .thenRejects('EEXIST');
    given(v24, progF1, link(1, ts('f1')), { op: 'link_release', link: 1 })
      .when(link(1, ts('f2')))
      .thenRejects('EEXIST');
  });
  it('a failed attach leaves dst_trampoline in place so the program can try again (§3.5)', () => {
    const g = given(v24, progF1);
    g.when(link(1, ts('f1', 'no_addr'))).thenRejects('ENOENT');
    given(g.state)
      .when(link(1, ts('f1', 'f2')))
      .thenOk();
  });
  it('libbpf resolution fails first: an unknown name is ESRCH even with cnt 0', () => {
    given(v24, progF1)
      .when(link(1, ts('nope'), undefined, 0))
      .thenRejects('ESRCH');
  });
  it('an unknown program id is EBADF; a released program fd is EBADF (§3.1)', () => {
    given(v24)
      .when(link(7, ts('f1')))
      .thenRejects('EBADF');
    given(v24, progF1, { op: 'prog_release', prog: 1 })
      .when(link(1, ts('f1')))
      .thenRejects('EBADF');
  });
});

describe('V24 multi link_create — per-target checks 11a-11g (spec §3.2, §3.12)', () => {
  it('11a: a user-loaded BTF target is EOPNOTSUPP (vector 19)', () => {
    given(v24, progF1)
      .when(link(1, ts('f1', 'ubtf:u1')))
      .thenRejects('EOPNOTSUPP');
  });
  it('11d: a STRUCT btf id is EINVAL (vector 31)', () => {
    given(v24, progF1)
      .when(link(1, [t('f1'), { object: 'vmlinux', type: 'S2' }]))
      .thenRejects('EINVAL');
  });
  it('11d: 13 params or a 24-byte by-value struct is EINVAL (vector 32)', () => {
    given(v24, progF1)
      .when(link(1, ts('too_many')))
      .thenRejects('EINVAL');
    given(v24, progF1)
      .when(link(1, ts('big_struct')))
      .thenRejects('EINVAL');
  });
  it('11d: a function without an address is ENOENT (vector 33)', () => {
    given(v24, progF1)
      .when(link(1, ts('f2', 'no_addr')))
      .thenRejects('ENOENT');
  });
  it('11d: a target in a going module is ENOENT (§3.8)', () => {
    given(v24, progF1, { op: 'module_set_state', module: 'M', state: 'going' })
      .when(link(1, ts('f1', 'M:m1')))
      .thenRejects('ENOENT');
  });
  it('11d: fmod_ret.multi target neither error-injectable, security_* nor fmodret is EINVAL (vector 28)', () => {
    given(v24, load('p', 'fmod_ret.multi', 'err_inj_a'))
      .when(link(1, ts('err_inj_a', 'f1')))
      .thenRejects('EINVAL');
  });
  it('11d: fmod_ret.multi on security_file_open is OK (vector 29)', () => {
    given(v24, load('p', 'fmod_ret.multi', 'err_inj_a'))
      .when(link(1, ts('err_inj_a', 'security_file_open', 'fmodret_set_fn')))
      .thenOk();
  });
  it('11d: sleepable program, every target error-injectable, one in a module: OK, module held by link (vector 63)', () => {
    const { state } = given(v24, load('p', 'fentry.multi.s', 'err_inj_a'))
      .when(link(1, ts('err_inj_a', 'M:m_err')))
      .thenOk();
    expect(moduleRefcount(state, 'M')).toBe(1);
    given(v24, load('p', 'fentry.multi.s', 'err_inj_a'))
      .when(link(1, ts('err_inj_a', 'f1')))
      .thenRejects('EINVAL');
  });
  it('btf_id_deny and __noreturn are not re-checked for non-origin targets (quirk §9.2d)', () => {
    given(v24, progF1)
      .when(link(1, ts('f1', 'do_exit')))
      .thenOk();
    given(v24, load('p', 'fexit.multi', 'f1'))
      .when(link(1, ts('f1', 'do_exit')))
      .thenOk();
  });
  it('a program that reads nothing is compatible with every distillable target (vector 17)', () => {
    given(v24, progF1)
      .when(
        link(1, ts('f1', 'f3', 'struct_arg_2', 'file_a', 'vptr_a', 'ret_ptr', 'twelve', 'M:m2')),
      )
      .thenOk();
  });
});

describe('V24 multi link_create — linking, references and rollback (spec §3.4, §3.5, §1.3)', () => {
  it('connects every target in request order with cookies; the origin trampoline nets unchanged (vector 1)', () => {
    const g = given(v24, progF1);
    expect(trampRecord(g.state, 'f1')?.refcnt).toBe(1);
    const { state, value } = g.when(link(1, ts('f3', 'f1', 'f2'), [30n, 10n, 20n])).thenOk();
    expect(connectionsOf(value).map((c) => [c.function, c.cookie])).toEqual([
      ['f3', 30n],
      ['f1', 10n],
      ['f2', 20n],
    ]);
    expect(trampRecord(state, 'f1')?.refcnt).toBe(1);
    expect(trampRecord(state, 'f2')?.refcnt).toBe(1);
    expect(trampolineOf(state, 'f1')?.fentry).toEqual([{ link: 1, prog: 'p', cookie: 10n }]);
  });
  it('eight targets give eight connections (vector 1)', () => {
    const { state } = given(v24, progF1)
      .when(link(1, ts('f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8')))
      .thenOk();
    expect(dumpState(state).links[0]?.connections).toHaveLength(8);
    expect(dumpState(state).trampolines.filter((x) => x.fentry.length === 1)).toHaveLength(8);
  });
  it('duplicates are found late, when linking: EBUSY and nothing stays attached (§3.6)', () => {
    given(v24, progF1)
      .when(link(1, ts('f2', 'f3', 'f2')))
      .thenRejects('EBUSY');
  });
  it('a per-target error after a duplicate wins over the duplicate, since checks precede linking (§3.2 11 vs 12)', () => {
    given(v24, progF1)
      .when(link(1, ts('f2', 'f2', 'no_addr')))
      .thenRejects('ENOENT');
  });
  it('the shared budget: single + multi share maxTrampLinks; the 3rd is E2BIG and earlier entries roll back', () => {
    const spec = fixtureSpec('v24', { maxTrampLinks: 2 });
    const g = given(
      spec,
      load('a', 'fentry', 'f2'),
      link(1, []),
      load('b', 'fexit', 'f2'),
      link(2, []),
      progF1,
    );
    const reason = g.when(link(3, ts('f1', 'f3', 'f2'))).thenRejects('E2BIG');
    expect(reason).toContain('target 2');
    expect(dumpState(g.state).trampolines.map((x) => x.function)).toEqual(['f1', 'f2']);
  });
  it('two programs share a trampoline (vector 36)', () => {
    const { state } = given(v24, progF1, link(1, ts('f1', 'f2')), load('q', 'fentry.multi', 'f2'))
      .when(link(2, ts('f2', 'f3')))
      .thenOk();
    expect(trampolineOf(state, 'f2')?.fentry.map((c) => c.prog)).toEqual(['q', 'p']);
  });
  it('keeps one reference per distinct module and BTF object; release restores them (vector 23)', () => {
    const g = given(v24, progF1);
    const { state } = g.when(link(1, ts('f1', 'M:m1', 'M:m2', 'N:n1'))).thenOk();
    expect(moduleRefcount(state, 'M')).toBe(1);
    expect(moduleRefcount(state, 'N')).toBe(1);
    expect(state.links.get(1)?.btfRefs).toEqual([1, 2, 3]);
    given(state).when({ op: 'module_unload', module: 'M' }).thenRejects('EAGAIN');
    const released = given(state, { op: 'link_release', link: 1 });
    expect(moduleRefcount(released.state, 'M')).toBe(0);
    released.when({ op: 'module_unload', module: 'M' }).thenOk();
  });
  it('the origin module stays pinned by the program after the link is released (§4.2)', () => {
    const g = given(v24, load('p', 'fentry.multi', 'M:m1'), link(1, ts('M:m1', 'f1')));
    expect(moduleRefcount(g.state, 'M')).toBe(2);
    const r = given(g.state, { op: 'link_release', link: 1 });
    expect(moduleRefcount(r.state, 'M')).toBe(1);
    r.when({ op: 'module_unload', module: 'M' }).thenRejects('EAGAIN');
    given(r.state, { op: 'prog_release', prog: 1 })
      .when({ op: 'module_unload', module: 'M' })
      .thenOk();
  });
  it('same function name in two modules is two trampolines (§9.4)', () => {
    const { state } = given(v24, progF1)
      .when(link(1, ts('M:shared_name', 'N:shared_name')))
      .thenOk();
    expect(
      dumpState(state)
        .trampolines.filter((x) => x.function === 'shared_name')
        .map((x) => x.object),
    ).toEqual(['M', 'N']);
  });
  it('cookies default to 0 (§1.1)', () => {
    const { value } = given(v24, progF1)
      .when(link(1, ts('f1', 'f2')))
      .thenOk();
    expect(connectionsOf(value).map((c) => c.cookie)).toEqual([0n, 0n]);
  });
  it('a count below the list length attaches only the first cnt targets', () => {
    const { value } = given(v24, progF1)
      .when(link(1, ts('f1', 'f2', 'f3'), undefined, 2))
      .thenOk();
    expect(connectionsOf(value).map((c) => c.function)).toEqual(['f1', 'f2']);
  });
});
