import { describe, expect, it } from 'vitest';
import { dumpState } from '@tramway/shared/kernel';
import {
  connectionsOf,
  fixtureSpec,
  given,
  link,
  load,
  moduleRefcount,
  trampolineOf,
  ts,
} from '../../support/kernel-fixtures.js';

const v26 = fixtureSpec('v26');
const prog = load('p', 'fentry.multi');

describe('V26 multi link_create (spec §3.11)', () => {
  it('row 1: cnt 0 or ids NULL is EINVAL', () => {
    given(v26, prog).when(link(1, [])).thenRejects('EINVAL');
    given(v26, prog)
      .when(link(1, [], undefined, 2))
      .thenRejects('EINVAL');
  });
  it('row 2: cnt above the limit is E2BIG', () => {
    given(fixtureSpec('v26', { maxMultiCount: 2 }), prog)
      .when(link(1, ts('f1', 'f2', 'f3')))
      .thenRejects('E2BIG');
  });
  it('row 4: arrays shorter than cnt fault', () => {
    given(v26, prog)
      .when(link(1, ts('f1'), undefined, 2))
      .thenRejects('EFAULT');
    given(v26, prog)
      .when(link(1, ts('f1', 'f2'), [1n]))
      .thenRejects('EFAULT');
  });
  it('row 5: duplicate ids are EINVAL before anything is touched (vector 44)', () => {
    given(v26, prog)
      .when(link(1, ts('f2', 'f2')))
      .thenRejects('EINVAL');
  });
  it('row 5 precedes row 7: a duplicate beats an unusable target', () => {
    given(v26, prog)
      .when(link(1, ts('no_addr', 'f2', 'f2')))
      .thenRejects('EINVAL');
  });
  it('sorts by btf id with cookies following their ids (vector 43)', () => {
    const { value } = given(v26, prog)
      .when(link(1, ts('f3', 'f1'), [30n, 10n]))
      .thenOk();
    expect(connectionsOf(value).map((c) => [c.function, c.cookie])).toEqual([
      ['f1', 10n],
      ['f3', 30n],
    ]);
  });
  it('id 0 anywhere fails and nothing stays attached (vector 47)', () => {
    const targets = [
      ...ts('f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'err_inj_a'),
      { object: 'vmlinux', btfId: 0 },
    ];
    given(v26, prog).when(link(1, targets)).thenRejects('EINVAL');
  });
  it('row 7: per-target checks — not a function EINVAL, no address ENOENT, undistillable EINVAL', () => {
    given(v26, prog)
      .when(link(1, [{ object: 'vmlinux', type: 'S2' }]))
      .thenRejects('EINVAL');
    given(v26, prog)
      .when(link(1, ts('f1', 'no_addr')))
      .thenRejects('ENOENT');
    given(v26, prog)
      .when(link(1, ts('too_many')))
      .thenRejects('EINVAL');
  });
  it('row 7: sleepable programs need sleepable targets at attach', () => {
    given(v26, load('p', 'fentry.multi.s'))
      .when(link(1, ts('err_inj_a', 'fmodret_sleep_fn')))
      .thenOk();
    given(v26, load('p', 'fentry.multi.s'))
      .when(link(1, ts('err_inj_a', 'f1')))
      .thenRejects('EINVAL');
  });
  it('no prototype matching: wildly different prototypes attach together (§7.2)', () => {
    given(v26, prog)
      .when(link(1, ts('f1', 'struct_arg_1', 'vptr_a', 'vptr_b', 'file_a')))
      .thenOk();
  });
  it('deny-listed and __noreturn targets are not checked at attach (spec §3.11 row 7 lists no such check)', () => {
    given(v26, load('p', 'fexit.multi'))
      .when(link(1, ts('do_exit', 'migrate_disable')))
      .thenOk();
  });
  it('a program may own several links; a second link overlapping the first is EBUSY (§3.11 notes)', () => {
    const g = given(v26, prog, link(1, ts('f1', 'f2')));
    given(g.state)
      .when(link(1, ts('f3', 'f4')))
      .thenOk();
    g.when(link(1, ts('f3', 'f2'))).thenRejects('EBUSY');
  });
  it('a program may be linked again after its link is released (§4.1 V26 release)', () => {
    given(v26, prog, link(1, ts('f1')), { op: 'link_release', link: 1 })
      .when(link(1, ts('f1')))
      .thenOk();
  });
  it('ids are interpreted in the program attach BTF: a module program cannot reach a vmlinux function (ENOENT)', () => {
    const g = given(v26, load('p', 'fentry.multi', undefined, { object: 'M' }));
    given(g.state)
      .when(link(1, ts('M:m1', 'M:m2')))
      .thenOk();
    g.when(link(1, ts('M:m1', 'f1'))).thenRejects('ENOENT');
  });
  it('holds no per-link module references: the program pin covers the module (§9.7 choice)', () => {
    const { state } = given(v26, load('p', 'fentry.multi', undefined, { object: 'M' }))
      .when(link(1, ts('M:m1', 'M:m2')))
      .thenOk();
    expect(moduleRefcount(state, 'M')).toBe(1);
    expect(state.links.get(1)?.modRefs).toEqual([]);
  });
  it('a going attach module makes every target ENOENT', () => {
    given(v26, load('p', 'fentry.multi', undefined, { object: 'M' }), {
      op: 'module_set_state',
      module: 'M',
      state: 'going',
    })
      .when(link(1, ts('M:m1')))
      .thenRejects('ENOENT');
  });
  it('shares the trampoline budget with single links; E2BIG rolls back earlier nodes (§3.4, §9.3)', () => {
    const spec = fixtureSpec('v26', { maxTrampLinks: 1 });
    const g = given(spec, load('a', 'fentry', 'f3'), link(1, []), prog);
    g.when(link(2, ts('f1', 'f2', 'f3'))).thenRejects('E2BIG');
    expect(dumpState(g.state).trampolines.map((x) => x.function)).toEqual(['f3']);
  });
});

describe('V26 fsession.multi (spec §1.1, §3.4.2)', () => {
  it('takes one fentry and one fexit slot on each trampoline', () => {
    const { state } = given(v26, load('s', 'fsession.multi'))
      .when(link(1, ts('f1')))
      .thenOk();
    const tr = trampolineOf(state, 'f1');
    expect(tr?.fentry.map((c) => c.prog)).toEqual(['s']);
    expect(tr?.fexit.map((c) => c.prog)).toEqual(['s']);
  });
  it('counts two against the budget: with maxTrampLinks 2 a session after one fentry is E2BIG', () => {
    const spec = fixtureSpec('v26', { maxTrampLinks: 2 });
    given(spec, load('a', 'fentry', 'f1'), link(1, []), load('s', 'fsession.multi'))
      .when(link(2, ts('f1')))
      .thenRejects('E2BIG');
    given(
      fixtureSpec('v26', { maxTrampLinks: 3 }),
      load('a', 'fentry', 'f1'),
      link(1, []),
      load('s', 'fsession.multi'),
    )
      .when(link(2, ts('f1')))
      .thenOk();
  });
  it('releasing the session link frees both slots', () => {
    const g = given(v26, load('s', 'fsession.multi'), link(1, ts('f1', 'f2')), {
      op: 'link_release',
      link: 1,
    });
    expect(dumpState(g.state).trampolines).toEqual([]);
  });
});
