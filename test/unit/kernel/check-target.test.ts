import { describe, expect, it } from 'vitest';
import { applyOp, checkTarget } from '@tramway/shared/kernel';
import {
  fixtureSpec,
  given,
  kernelOf,
  link,
  load,
  run,
  t,
  ts,
  VMLINUX_FUNCTIONS,
} from '../../support/kernel-fixtures.js';

const v24 = fixtureSpec('v24');
const v26 = fixtureSpec('v26');

describe('checkTarget (eligibility without attaching)', () => {
  it('answers for a program description as prog_load + link_create would (V24)', () => {
    const s = kernelOf(v24);
    const desc = { attach: 'fentry.multi', origin: t('f1'), reads: [0] };
    expect(checkTarget(s, desc, t('f8'))).toEqual({ ok: true });
    expect(checkTarget(s, desc, t('f6'))).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(checkTarget(s, desc, t('nope'))).toMatchObject({ ok: false, errno: 'ESRCH' });
    expect(checkTarget(s, desc, t('no_addr'))).toMatchObject({ ok: false, errno: 'ENOENT' });
    expect(checkTarget(s, desc, t('ubtf:u1'))).toMatchObject({ ok: false, errno: 'EOPNOTSUPP' });
  });
  it('reports a program description that would not load', () => {
    expect(checkTarget(kernelOf(v24), { attach: 'fentry.multi' }, t('f1'))).toMatchObject({
      ok: false,
      errno: 'EINVAL',
    });
    expect(checkTarget(kernelOf(v26), { attach: 'fmod_ret.multi' }, t('f1'))).toMatchObject({
      ok: false,
      errno: 'EINVAL',
    });
  });
  it('for a loaded V24 program already multi-attached: EEXIST', () => {
    const s = run(kernelOf(v24), load('p', 'fentry.multi', 'f1'), link(1, ts('f1'))).state;
    expect(checkTarget(s, 1, t('f2'))).toMatchObject({ ok: false, errno: 'EEXIST' });
  });
  it('includes the trampoline rules: a full trampoline is E2BIG, the same program EBUSY', () => {
    const spec = fixtureSpec('v26', { maxTrampLinks: 1 });
    const s = run(
      kernelOf(spec),
      load('a', 'fentry', 'f2'),
      link(1, []),
      load('m', 'fentry.multi'),
      link(2, ts('f3')),
    ).state;
    expect(checkTarget(s, 2, t('f2'))).toMatchObject({ ok: false, errno: 'E2BIG' });
    expect(checkTarget(kernelOf(v26), { attach: 'fentry.multi' }, t('f2'))).toEqual({ ok: true });
    const s2 = run(kernelOf(v26), load('m', 'fentry.multi'), link(1, ts('f3'))).state;
    expect(checkTarget(s2, 1, t('f3'))).toMatchObject({ ok: false, errno: 'EBUSY' });
  });
  it('V26 interprets the id in the program attach object', () => {
    const s = kernelOf(v26);
    expect(checkTarget(s, { attach: 'fentry.multi', object: 'M' }, t('M:m1'))).toEqual({
      ok: true,
    });
    expect(checkTarget(s, { attach: 'fentry.multi', object: 'M' }, t('f1'))).toMatchObject({
      ok: false,
      errno: 'ENOENT',
    });
  });
  it('single programs can only target their origin', () => {
    const s = kernelOf(v24);
    expect(checkTarget(s, { attach: 'fentry', origin: t('f1') }, t('f1'))).toEqual({ ok: true });
    expect(checkTarget(s, { attach: 'fentry', origin: t('f1') }, t('f2'))).toMatchObject({
      ok: false,
      errno: 'EINVAL',
    });
  });
  it('an unknown program id is EBADF', () => {
    expect(checkTarget(kernelOf(v24), 5, t('f1'))).toMatchObject({ ok: false, errno: 'EBADF' });
  });
  it('does not change the state', () => {
    const g = given(v24, load('p', 'fentry.multi', 'f1'));
    checkTarget(g.state, 1, t('f2'));
    g.when(link(1, ts('f2'))).thenOk();
  });
});

describe('checkTarget and link_create share one per-target check', () => {
  const names = VMLINUX_FUNCTIONS.map((f) => f.name);
  it.each([
    ['v24', 'fentry.multi', 'f1'],
    ['v24', 'fexit.multi.s', 'err_inj_a'],
    ['v24', 'fmod_ret.multi', 'bpf_modify_return_test'],
    ['v26', 'fentry.multi', undefined],
    ['v26', 'fsession.multi', undefined],
    ['v24', 'fentry', 'f2'],
  ] as const)(
    '%s %s: same answer for every function as a one-target link_create',
    (profile, attach, origin) => {
      const s = run(kernelOf(fixtureSpec(profile)), load('p', attach, origin)).state;
      for (const name of names) {
        const linked = applyOp(s, link(1, ts(name)));
        const checked = checkTarget(s, 1, t(name));
        expect([name, checked.ok ? 'ok' : checked.errno]).toEqual([
          name,
          linked.ok ? 'ok' : linked.errno,
        ]);
      }
    },
  );
});

describe('single link cookies', () => {
  it('a single tracing link takes at most one cookie (EINVAL otherwise)', () => {
    given(v24, load('p', 'fentry', 'f1'))
      .when(link(1, [], [1n, 2n]))
      .thenRejects('EINVAL');
  });
});
