import { describe, expect, it } from 'vitest';
import type { KernelSpec } from '@tramway/shared/kernel';
import { fixtureSpec, given, kernelOf, link, load, t, ts } from '../../support/kernel-fixtures.js';

const v24 = fixtureSpec('v24');
const v26 = fixtureSpec('v26');

/** The btf id of a function of the fixture kernel, as the model numbers it. */
const idOf = (spec: KernelSpec, name: string, object = 'vmlinux'): number => {
  const id = kernelOf(spec)
    .templates.find((x) => x.name === object)
    ?.funcIds.get(name);
  if (id === undefined) throw new Error(`no function ${object}:${name}`);
  return id;
};

describe('link_create refusals name the failing target (V24)', () => {
  it('a full trampoline in the middle of a multi attach names that entry, and nothing stays attached', () => {
    const spec = fixtureSpec('v24', { maxTrampLinks: 1 });
    const sut = given(spec, load('a', 'fentry', 'f2'), link(1, []), load('m', 'fentry.multi', 'f1'))
      .when(link(2, ts('f1', 'f2', 'f8')))
      .thenRejectsTarget('E2BIG');
    expect(sut).toEqual({
      index: 1,
      function: 'f2',
      object: 'vmlinux',
      btfId: idOf(spec, 'f2'),
      errno: 'E2BIG',
      reason: 'trampoline of f2 already has 1 of 1 links',
    });
  });

  it('keeps the kernel model message as the outcome reason, with the entry index', () => {
    const spec = fixtureSpec('v24', { maxTrampLinks: 1 });
    const reason = given(
      spec,
      load('a', 'fentry', 'f2'),
      link(1, []),
      load('m', 'fentry.multi', 'f1'),
    )
      .when(link(2, ts('f1', 'f2', 'f8')))
      .thenRejects('E2BIG');
    expect(reason).toBe('target 1: trampoline of f2 already has 1 of 1 links');
  });

  it('a per-target check that fails on the third entry names the third entry', () => {
    const sut = given(v24, load('p', 'fentry.multi', 'f1'))
      .when(link(1, ts('f1', 'f8', 'no_addr')))
      .thenRejectsTarget('ENOENT');
    expect(sut).toMatchObject({ index: 2, function: 'no_addr', object: 'vmlinux' });
  });

  it('a prototype that does not match the origin names its entry', () => {
    const sut = given(v24, load('p', 'fentry.multi', 'f1', { reads: [0] }))
      .when(link(1, ts('f8', 'f6')))
      .thenRejectsTarget('EINVAL');
    expect(sut).toMatchObject({ index: 1, function: 'f6', errno: 'EINVAL' });
    expect(sut?.reason).toMatch(/^f6 does not match origin f1: /);
  });

  it('a target in a module that is going away names the module as its object', () => {
    const sut = given(v24, load('p', 'fentry.multi', 'f1'), {
      op: 'module_set_state',
      module: 'M',
      state: 'going',
    })
      .when(link(1, ts('f1', 'M:m1')))
      .thenRejectsTarget('ENOENT');
    expect(sut).toMatchObject({
      index: 1,
      function: 'm1',
      object: 'M',
      btfId: idOf(v24, 'm1', 'M'),
    });
  });

  it('an unknown btf id names the id and no function', () => {
    const sut = given(v24, load('p', 'fentry.multi', 'f1'))
      .when(link(1, [t('f1'), { object: 'vmlinux', btfId: 99999 }]))
      .thenRejectsTarget('EINVAL');
    expect(sut).toEqual({
      index: 1,
      object: 'vmlinux',
      btfId: 99999,
      errno: 'EINVAL',
      reason: 'btf_id 99999 is invalid in vmlinux',
    });
  });

  it('a zero btf id names its entry', () => {
    const sut = given(v24, load('p', 'fentry.multi', 'f1'))
      .when(link(1, [t('f1'), t('f8'), { object: 'vmlinux', btfId: 0 }]))
      .thenRejectsTarget('EINVAL');
    expect(sut).toMatchObject({ index: 2, btfId: 0, object: 'vmlinux' });
  });

  it('a name that resolves nowhere names its entry (ESRCH, libbpf side)', () => {
    const sut = given(v24, load('p', 'fentry.multi', 'f1'))
      .when(link(1, ts('f1', 'nope')))
      .thenRejectsTarget('ESRCH');
    expect(sut).toEqual({
      index: 1,
      function: 'nope',
      errno: 'ESRCH',
      reason: 'function nope not found in vmlinux or any loaded module',
    });
  });

  it('a refusal about the request, not one of its targets, names none', () => {
    const g = given(v24, load('p', 'fentry.multi', 'f1'), link(1, ts('f1')));
    expect(g.when(link(1, ts('f2'))).thenRejectsTarget('EEXIST')).toBeUndefined();
    expect(g.when(link(1, [])).thenRejectsTarget('EINVAL')).toBeUndefined();
  });
});

describe('link_create refusals name the failing target (V26)', () => {
  it('a duplicate id names the later of the two equal entries', () => {
    const sut = given(v26, load('m', 'fentry.multi'))
      .when(link(1, ts('f2', 'f1', 'f2', 'f8')))
      .thenRejectsTarget('EINVAL');
    expect(sut).toEqual({
      index: 2,
      function: 'f2',
      object: 'vmlinux',
      btfId: idOf(v26, 'f2'),
      errno: 'EINVAL',
      reason: `duplicate id ${idOf(v26, 'f2')}`,
    });
  });

  it('an unknown btf id names it, with the entry index from the request, not the sorted order', () => {
    const sut = given(v26, load('m', 'fentry.multi'))
      .when(link(1, [t('f8'), { object: 'vmlinux', btfId: 99999 }, t('f1')]))
      .thenRejectsTarget('EINVAL');
    expect(sut).toMatchObject({ index: 1, btfId: 99999, object: 'vmlinux' });
    expect(sut?.function).toBeUndefined();
  });

  it('a target of another object is checked, and named, in the program attach object', () => {
    const sut = given(v26, load('m', 'fentry.multi', undefined, { object: 'M' }))
      .when(link(1, ts('M:m1', 'no_addr')))
      .thenRejectsTarget('ENOENT');
    expect(sut).toMatchObject({
      index: 1,
      function: 'no_addr',
      object: 'M',
      btfId: idOf(v26, 'no_addr'),
    });
  });

  it('a full trampoline names the entry in request order', () => {
    const spec = fixtureSpec('v26', { maxTrampLinks: 1 });
    const sut = given(spec, load('a', 'fentry', 'f1'), link(1, []), load('m', 'fentry.multi'))
      .when(link(2, ts('f8', 'f2', 'f1')))
      .thenRejectsTarget('E2BIG');
    expect(sut).toMatchObject({ index: 2, function: 'f1', btfId: idOf(spec, 'f1') });
  });
});

describe('link_create refusals name the failing target (single links)', () => {
  it('a target other than the load-time one names it', () => {
    const sut = given(v24, load('p', 'fentry', 'f1'))
      .when(link(1, ts('f1', 'f2')))
      .thenRejectsTarget('EINVAL');
    expect(sut).toMatchObject({ index: 1, function: 'f2', object: 'vmlinux' });
  });

  it('a full trampoline names the request target', () => {
    const spec = fixtureSpec('v26', { maxTrampLinks: 1 });
    const sut = given(spec, load('a', 'fentry', 'f1'), link(1, []), load('b', 'fexit', 'f1'))
      .when(link(2, ts('f1')))
      .thenRejectsTarget('E2BIG');
    expect(sut).toMatchObject({ index: 0, function: 'f1', btfId: idOf(spec, 'f1') });
  });
});
