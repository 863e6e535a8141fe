import { describe, expect, it } from 'vitest';
import { applyOp, checkInvariants, dumpState, progTag } from '@tramway/shared/kernel';
import type { KernelState, OpValue } from '@tramway/shared/kernel';
import {
  fixtureSpec,
  given,
  kernelOf,
  link,
  load,
  run,
  t,
  ts,
} from '../../support/kernel-fixtures.js';

const v24 = fixtureSpec('v24');
const v26 = fixtureSpec('v26');

const btfIdOf = (state: KernelState, fn: string): number => {
  const tpl = state.templates.find((x) => x.funcIds.has(fn));
  return tpl?.funcIds.get(fn) ?? -1;
};

const textOf = (v: OpValue | null): string => {
  if (v === null || !('text' in v)) throw new Error('not an fdinfo value');
  return v.text;
};

describe('fdinfo (spec §4.3)', () => {
  it('V24 multi: generic lines, then one attach_type/target_obj_id/target_btf_id triple per entry in request order', () => {
    const { state } = given(
      v24,
      load('p', 'fentry.multi', 'f1'),
      link(1, ts('f3', 'f1'), [30n, 10n]),
    )
      .when({
        op: 'fdinfo',
        link: 1,
      })
      .thenOk();
    const out = applyOp(state, { op: 'fdinfo', link: 1 });
    const tag = progTag({ name: 'p', attach: 'fentry.multi', returns: 0n });
    const f1 = btfIdOf(state, 'f1');
    const f3 = btfIdOf(state, 'f3');
    expect(out.ok && textOf(out.value)).toBe(
      `link_type:\ttracing_multi\nlink_id:\t1\nprog_tag:\t${tag}\nprog_id:\t1\n` +
        `attach_type:\t56\ntarget_obj_id:\t1\ntarget_btf_id:\t${f3}\n` +
        `attach_type:\t56\ntarget_obj_id:\t1\ntarget_btf_id:\t${f1}\n`,
    );
  });
  it('V26 multi: attach_type, cnt, header, rows in ascending btf id with cookies (vector 43)', () => {
    const s = run(
      kernelOf(v26),
      load('p', 'fentry.multi'),
      link(1, ts('f3', 'f1'), [30n, 10n]),
    ).state;
    const out = applyOp(s, { op: 'fdinfo', link: 1 });
    const tag = progTag({ name: 'p', attach: 'fentry.multi', returns: 0n });
    expect(out.ok && textOf(out.value)).toBe(
      `link_type:\ttracing_multi\nlink_id:\t1\nprog_tag:\t${tag}\nprog_id:\t1\n` +
        `attach_type:\t59\ncnt:\t2\nobj-id\tbtf-id\tcookie\tfunc\n` +
        `1\t${btfIdOf(s, 'f1')}\t10\tf1\n1\t${btfIdOf(s, 'f3')}\t30\tf3\n`,
    );
  });
  it('single link: attach_type, target_obj_id, target_btf_id, cookie', () => {
    const s = run(kernelOf(v24), load('p', 'fexit', 'M:m1'), link(1, [], [7n])).state;
    const out = applyOp(s, { op: 'fdinfo', link: 1 });
    expect(out.ok && textOf(out.value)).toMatch(
      /^link_type:\ttracing\nlink_id:\t1\nprog_tag:\t[0-9a-f]{16}\nprog_id:\t1\nattach_type:\t25\ntarget_obj_id:\t2\ntarget_btf_id:\t\d+\ncookie:\t7\n$/,
    );
  });
  it('prog_tag is deterministic and differs between different programs', () => {
    const a = progTag({ name: 'p', attach: 'fentry', returns: 0n });
    expect(progTag({ name: 'p', attach: 'fentry', returns: 0n })).toBe(a);
    expect(progTag({ name: 'q', attach: 'fentry', returns: 0n })).not.toBe(a);
  });
});

describe('trigger (spec §4.4)', () => {
  it('runs fentry newest first with each connection cookie, func ip = name, argCount = slots (vector 37)', () => {
    const s = run(
      kernelOf(v24),
      load('a', 'fentry.multi', 'f1'),
      link(1, ts('f1', 'f2'), [8n, 9n]),
      load('b', 'fentry', 'f2'),
      link(2, [], [3n]),
    ).state;
    const out = applyOp(s, { op: 'trigger', function: t('f2'), returns: 4n });
    expect(out.ok && out.value).toEqual({
      invocations: [
        { prog: 'b', kind: 'fentry', cookie: 3n, funcIp: 'f2', argCount: 2 },
        { prog: 'a', kind: 'fentry', cookie: 9n, funcIp: 'f2', argCount: 2 },
      ],
      returned: 4n,
      called: true,
    });
  });
  it('a 16-byte struct argument counts two slots', () => {
    const s = run(kernelOf(v24), load('a', 'fentry', 'struct_arg_1'), link(1, [])).state;
    const out = applyOp(s, { op: 'trigger', function: t('struct_arg_1') });
    expect(
      out.ok && out.value && 'invocations' in out.value && out.value.invocations[0]?.argCount,
    ).toBe(4);
  });
  it('fmod_ret: the first non-zero return skips later fmod_ret programs and the function; fexit sees it (vector 57)', () => {
    const s = run(
      kernelOf(v24),
      load('fe', 'fexit', 'err_inj_a'),
      link(1, []),
      load('m0', 'fmod_ret.multi', 'err_inj_a'),
      link(2, ts('err_inj_a')),
      load('skipped', 'fmod_ret', 'err_inj_a', { returns: 7n }),
      link(3, []),
      load('m5', 'fmod_ret', 'err_inj_a', { returns: 5n }),
      link(4, []),
    ).state;
    const out = applyOp(s, { op: 'trigger', function: t('err_inj_a'), returns: 1n });
    expect(out.ok && out.value).toEqual({
      invocations: [
        { prog: 'm5', kind: 'fmod_ret', cookie: 0n, funcIp: 'err_inj_a', argCount: 1 },
        { prog: 'fe', kind: 'fexit', cookie: 0n, funcIp: 'err_inj_a', argCount: 1 },
      ],
      returned: 5n,
      called: false,
    });
  });
  it('fmod_ret returning 0 lets the function run and return its own value', () => {
    const s = run(kernelOf(v24), load('m', 'fmod_ret', 'err_inj_a'), link(1, [])).state;
    const out = applyOp(s, { op: 'trigger', function: t('err_inj_a'), returns: 3n });
    expect(
      out.ok && out.value && 'called' in out.value && [out.value.called, out.value.returned],
    ).toEqual([true, 3n]);
  });
  it('fsession runs at entry and at exit', () => {
    const s = run(kernelOf(v26), load('s', 'fsession.multi'), link(1, ts('f1'), [2n])).state;
    const out = applyOp(s, { op: 'trigger', function: t('f1') });
    expect(
      out.ok && out.value && 'invocations' in out.value && out.value.invocations.map((i) => i.kind),
    ).toEqual(['fsession', 'fsession']);
  });
  it('an untraced function is simply called; an unknown one is ESRCH; state is unchanged', () => {
    const s = kernelOf(v24);
    const out = applyOp(s, { op: 'trigger', function: t('f1') });
    expect(out).toEqual({
      ok: true,
      state: s,
      value: { invocations: [], returned: 0n, called: true },
    });
    given(s)
      .when({ op: 'trigger', function: t('nope') })
      .thenRejects('ESRCH');
  });
});

describe('dumpState', () => {
  it('sorts trampolines by (object id, btf id), modules by name, links and progs by id', () => {
    const s = run(
      kernelOf(v24),
      load('p', 'fentry.multi', 'f1'),
      link(1, ts('N:n1', 'f3', 'M:m1', 'f1')),
      load('q', 'fentry', 'f2'),
    ).state;
    const d = dumpState(s);
    expect(d.trampolines.map((x) => `${x.object}:${x.function}`)).toEqual([
      'vmlinux:f1',
      'vmlinux:f2',
      'vmlinux:f3',
      'M:m1',
      'N:n1',
    ]);
    expect(d.modules.map((m) => m.name)).toEqual(['L', 'M', 'N']);
    expect(d.links.map((l) => [l.id, l.prog, l.type])).toEqual([[1, 1, 'tracing_multi']]);
    expect(d.progs).toEqual([
      { id: 1, name: 'p', loaded: true },
      { id: 2, name: 'q', loaded: true },
    ]);
  });
});

describe('checkInvariants', () => {
  const sound = run(
    kernelOf(fixtureSpec('v24', { maxTrampLinks: 2 })),
    load('p', 'fentry.multi', 'f1'),
    link(1, ts('f1', 'M:m1')),
  ).state;
  it('is empty for a sound state', () => {
    expect(checkInvariants(sound)).toEqual([]);
  });
  it('reports a trampoline over budget', () => {
    const key = [...sound.tramps.keys()][0] ?? -1;
    const tr = sound.tramps.get(key);
    if (tr === undefined) throw new Error('no trampoline');
    const extra = { linkId: 1, progId: 1, cookie: 0n, kind: 'fentry' as const };
    const broken: KernelState = {
      ...sound,
      tramps: new Map(sound.tramps).set(key, { ...tr, fentry: [extra, extra, ...tr.fentry] }),
    };
    expect(checkInvariants(broken).map((v) => v.code)).toContain('TrampolineOverBudget');
    expect(checkInvariants(broken).map((v) => v.code)).toContain('DuplicateProgOnList');
  });
  it('reports a module refcount that does not match its holders', () => {
    const m = sound.modules.get('M');
    if (m === undefined) throw new Error('no module');
    const broken: KernelState = {
      ...sound,
      modules: new Map(sound.modules).set('M', { ...m, refcount: 5 }),
    };
    expect(checkInvariants(broken).map((v) => v.code)).toEqual(['RefcountMismatch']);
  });
  it('reports a multi link connected to only some of its targets', () => {
    const key = [...sound.tramps.keys()].find((k) => sound.tramps.get(k)?.fname === 'm1') ?? -1;
    const tr = sound.tramps.get(key);
    if (tr === undefined) throw new Error('no trampoline');
    const broken: KernelState = {
      ...sound,
      tramps: new Map(sound.tramps).set(key, { ...tr, fentry: [] }),
    };
    expect(checkInvariants(broken).map((v) => v.code)).toEqual(['PartialMultiLink']);
  });
  it('reports a reference to a module that is not loaded', () => {
    const m = sound.modules.get('M');
    if (m === undefined) throw new Error('no module');
    const broken: KernelState = {
      ...sound,
      modules: new Map(sound.modules).set('M', {
        ...m,
        state: 'unloaded',
        objId: null,
        refcount: 1,
      }),
    };
    expect(checkInvariants(broken).map((v) => v.code)).toContain('DanglingReference');
  });
});
