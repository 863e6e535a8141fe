import { describe, expect, it } from 'vitest';
import { applyOp, dumpState } from '@tramway/shared/kernel';
import {
  connectionsOf,
  fixtureSpec,
  given,
  link,
  load,
  moduleRefcount,
  run,
  kernelOf,
  t,
  trampolineOf,
  trampRecord,
  ts,
} from '../../support/kernel-fixtures.js';

/**
 * The sample vectors of spec §8 that this API can express. Not expressible here (no such input
 * in KernelOp): 9 (link attach_type differs from the program's), 27 (freplace), 46 (flags /
 * target_fd), 51 (kernel without single-ops ftrace), 52/55 (libbpf option handling), 56
 * (BPF_RAW_TRACEPOINT_OPEN).
 */
describe('spec §8 behavioural vectors', () => {
  const v24 = fixtureSpec('v24');
  const v26 = fixtureSpec('v26');
  const pF1 = load('p', 'fentry.multi', 'f1');

  it('#1 V24: origin f1, link f1..f8 → 8 connections; f1 trampoline refcount unchanged', () => {
    const g = given(v24, pF1);
    const { state, value } = g
      .when(link(1, ts('f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8')))
      .thenOk();
    expect(connectionsOf(value)).toHaveLength(8);
    expect(trampRecord(state, 'f1')?.refcnt).toBe(trampRecord(g.state, 'f1')?.refcnt);
    for (const f of ['f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'])
      expect(trampRecord(state, f)?.refcnt).toBe(1);
  });
  it('#4 V24: cnt = 0 → EINVAL', () => {
    given(v24, pF1).when(link(1, [])).thenRejects('EINVAL');
  });
  it('#5 V24: cnt = 1025 → E2BIG', () => {
    given(v24, pF1)
      .when(link(1, ts('f1'), undefined, 1025))
      .thenRejects('E2BIG');
  });
  it('#6 V24: btf_ids NULL, cnt 3 → EINVAL', () => {
    given(v24, pF1)
      .when(link(1, [], undefined, 3))
      .thenRejects('EINVAL');
  });
  it('#7 V24: btf_ids {f1, 0} → EINVAL before any trampoline is touched', () => {
    given(v24, pF1)
      .when(link(1, [t('f1'), { object: 'vmlinux', btfId: 0 }]))
      .thenRejects('EINVAL');
  });
  it('#11 V24: origin struct_arg_1 reading arg0, target struct_arg_2 → EINVAL', () => {
    given(v24, load('p', 'fentry.multi', 'struct_arg_1', { reads: [0] }))
      .when(link(1, ts('struct_arg_2')))
      .thenRejects('EINVAL');
  });
  it('#13 V24: identical void * arg in a different prototype object → EINVAL', () => {
    given(v24, load('p', 'fentry.multi', 'vptr_a', { reads: [0] }))
      .when(link(1, ts('vptr_b')))
      .thenRejects('EINVAL');
  });
  it('#15 V24: FEXIT_MULTI reading retval, origin 3×8-byte args, target 2 args → EINVAL', () => {
    given(v24, load('p', 'fexit.multi', 'ret_int_3', { reads: ['ret'] }))
      .when(link(1, ts('ret_int_2')))
      .thenRejects('EINVAL');
  });
  it('#17 V24: no ctx reads, wildly different prototypes → OK', () => {
    given(v24, pF1)
      .when(link(1, ts('f1', 'struct_arg_2', 'file_a', 'twelve', 'ret_ptr')))
      .thenOk();
  });
  it('#19 V24: a user-loaded BTF target → EOPNOTSUPP', () => {
    given(v24, pF1)
      .when(link(1, ts('ubtf:u1')))
      .thenRejects('EOPNOTSUPP');
  });
  it('#22/#23: module target held by the link; after close (origin in vmlinux) M refcount is back and unload works', () => {
    const g = given(v24, pF1, link(1, ts('f1', 'M:m1')));
    expect(moduleRefcount(g.state, 'M')).toBe(1);
    const after = given(g.state, { op: 'link_release', link: 1 });
    expect(moduleRefcount(after.state, 'M')).toBe(0);
    after.when({ op: 'module_unload', module: 'M' }).thenOk();
  });
  it('#28 V24: MODIFY_RETURN_MULTI target not modifiable → EINVAL', () => {
    given(v24, load('p', 'fmod_ret.multi', 'err_inj_a'))
      .when(link(1, ts('f2')))
      .thenRejects('EINVAL');
  });
  it('#29 V24: MODIFY_RETURN_MULTI target security_file_open → OK', () => {
    given(v24, load('p', 'fmod_ret.multi', 'err_inj_a'))
      .when(link(1, ts('security_file_open')))
      .thenOk();
  });
  it('#31 V24: a STRUCT btf id → EINVAL', () => {
    given(v24, pF1)
      .when(link(1, [{ object: 'vmlinux', type: 'S1' }]))
      .thenRejects('EINVAL');
  });
  it('#32 V24: 13 params or a 24-byte by-value struct → EINVAL', () => {
    given(v24, pF1)
      .when(link(1, ts('too_many')))
      .thenRejects('EINVAL');
    given(v24, pF1)
      .when(link(1, ts('big_struct')))
      .thenRejects('EINVAL');
  });
  it('#33 V24: a target without kallsyms address → ENOENT', () => {
    given(v24, pF1)
      .when(link(1, ts('no_addr')))
      .thenRejects('ENOENT');
  });
  for (const [profile, spec, pa, pb] of [
    ['v24', v24, pF1, load('q', 'fentry.multi', 'f2')],
    ['v26', v26, load('p', 'fentry.multi'), load('q', 'fentry.multi')],
  ] as const) {
    it(`#36 ${profile}: two programs' multi links on {f1,f2} and {f2,f3} → f2 has 2 connections`, () => {
      const { state } = given(spec, pa, link(1, ts('f1', 'f2')), pb)
        .when(link(2, ts('f2', 'f3')))
        .thenOk();
      expect(trampolineOf(state, 'f2')?.fentry).toHaveLength(2);
    });
    it(`#41 ${profile}: LINK_DETACH on a multi link → EOPNOTSUPP; LINK_UPDATE → EINVAL`, () => {
      const g = given(spec, pa, link(1, ts('f1')), pb);
      g.when({ op: 'link_detach', link: 1 }).thenRejects('EOPNOTSUPP');
      g.when({ op: 'link_update', link: 1, prog: 2 }).thenRejects('EINVAL');
    });
  }
  it('#37 V24: cookies {8,9} for {f1,f2}; call f2 → cookie 9, func_ip f2', () => {
    const s = run(kernelOf(v24), pF1, link(1, ts('f1', 'f2'), [8n, 9n])).state;
    const out = applyOp(s, { op: 'trigger', function: t('f2') });
    expect(out.ok && out.value && 'invocations' in out.value && out.value.invocations).toEqual([
      { prog: 'p', kind: 'fentry', cookie: 9n, funcIp: 'f2', argCount: 2 },
    ]);
  });
  it('#43 V26: ids {f3, f1} with cookies {30, 10} → cnt 2, sorted by btf id, cookie stays with its function', () => {
    const s = run(
      kernelOf(v26),
      load('p', 'fentry.multi'),
      link(1, ts('f3', 'f1'), [30n, 10n]),
    ).state;
    const out = applyOp(s, { op: 'fdinfo', link: 1 });
    const text = out.ok && out.value && 'text' in out.value ? out.value.text : '';
    expect(text).toContain('cnt:\t2\n');
    expect(
      text
        .split('\n')
        .slice(-3, -1)
        .map((l) => l.split('\t').slice(2)),
    ).toEqual([
      ['10', 'f1'],
      ['30', 'f3'],
    ]);
  });
  it('#44 V26: ids {f2, f2} → EINVAL, nothing attached', () => {
    given(v26, load('p', 'fentry.multi'))
      .when(link(1, ts('f2', 'f2')))
      .thenRejects('EINVAL');
  });
  it('#47 V26: 10 ids, last one 0 → error, every trampoline put again', () => {
    const targets = [
      ...ts('f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'err_inj_a'),
      { object: 'vmlinux', btfId: 0 },
    ];
    given(v26, load('p', 'fentry.multi')).when(link(1, targets)).thenRejects('EINVAL');
  });
  it('#57 V24: fmod_ret multi returning 5 → f not called, returns 5, later fmod_ret skipped, fexit sees 5', () => {
    const s = run(
      kernelOf(v24),
      load('x', 'fexit', 'err_inj_a'),
      link(1, []),
      load('later', 'fmod_ret', 'err_inj_a'),
      link(2, []),
      load('m', 'fmod_ret.multi', 'err_inj_a', { returns: 5n }),
      link(3, ts('err_inj_a')),
    ).state;
    const out = applyOp(s, { op: 'trigger', function: t('err_inj_a'), returns: 0n });
    expect(out.ok && out.value).toEqual({
      invocations: [
        { prog: 'm', kind: 'fmod_ret', cookie: 0n, funcIp: 'err_inj_a', argCount: 1 },
        { prog: 'x', kind: 'fexit', cookie: 0n, funcIp: 'err_inj_a', argCount: 1 },
      ],
      returned: 5n,
      called: false,
    });
  });
  it('#61 ML: single FENTRY linked to f1, closed, linked again → OK (contrast: V24 multi is EEXIST)', () => {
    given(v24, load('p', 'fentry', 'f1'), link(1, []), { op: 'link_release', link: 1 })
      .when(link(1, []))
      .thenOk();
    given(v24, pF1, link(1, ts('f1')), { op: 'link_release', link: 1 })
      .when(link(1, ts('f1')))
      .thenRejects('EEXIST');
  });
  it('#63 V24: sleepable, all targets error-injectable, one in a module → OK, module ref held by the link', () => {
    const { state } = given(v24, load('p', 'fentry.multi.s', 'err_inj_a'))
      .when(link(1, ts('err_inj_a', 'M:m_err')))
      .thenOk();
    expect(state.links.get(1)?.modRefs).toEqual(['M']);
    expect(dumpState(state).links[0]?.connections.map((c) => c.function)).toEqual([
      'err_inj_a',
      'm_err',
    ]);
  });
});
