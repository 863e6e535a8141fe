import { describe, expect, it } from 'vitest';
import type { BtfEnumType, BtfObject, BtfType } from '../../../shared/src/kernel/index.js';
import { probeFeatures } from '../../../shared/src/btf/index.js';
import { SMALL_VMLINUX_TYPES, smallVmlinux } from '../../fixtures/btf/small-btf.fixture.js';

const withEnums = (replace: Record<string, Record<string, number>>): BtfObject => {
  const types: BtfType[] = SMALL_VMLINUX_TYPES.map((t) => {
    const values = (t.kind === 'enum' || t.kind === 'enum64') && replace[t.name];
    return values
      ? ({
          ...t,
          values: Object.entries(values).map(([n, v]) => ({ name: n, value: BigInt(v) })),
        } satisfies BtfEnumType)
      : t;
  });
  return smallVmlinux(types);
};
const withEnum = (name: string, values: Record<string, number>): BtfObject =>
  withEnums({ [name]: values });
const symbols =
  (...names: string[]) =>
  (name: string): boolean =>
    names.includes(name);
const ALL_SYMBOLS = symbols(
  'bpf_trampoline_link_prog',
  'register_ftrace_direct',
  'bpf_kprobe_multi_link_attach',
  'register_fprobe_ips',
);
const NO_MULTI_ATTACH = {
  BPF_TRACE_FENTRY: 24,
  BPF_TRACE_FEXIT: 25,
  BPF_TRACE_KPROBE_MULTI: 42,
};
const NO_MULTI_LINK = { BPF_LINK_TYPE_TRACING: 2, BPF_LINK_TYPE_KPROBE_MULTI: 8 };

describe('probeFeatures', () => {
  it('reports v26 and the tracing multi-link path when both multi enumerators exist', () => {
    const sut = probeFeatures({ vmlinux: smallVmlinux(), hasSymbol: ALL_SYMBOLS });
    expect(sut.profile).toBe('v26');
    expect(sut.path).toBe('tracing-multi');
    expect(sut.attachTypes).toMatchObject({ BPF_TRACE_FENTRY_MULTI: 58 });
    expect(sut.linkTypes).toMatchObject({ BPF_LINK_TYPE_TRACING_MULTI: 14 });
    expect(sut.symbolSource).toBe('kallsyms');
  });

  it('recognises the V24 series by BPF_MODIFY_RETURN_MULTI', () => {
    const vmlinux = withEnum('bpf_attach_type', {
      BPF_TRACE_FENTRY: 24,
      BPF_TRACE_FENTRY_MULTI: 44,
      BPF_MODIFY_RETURN_MULTI: 46,
    });
    expect(probeFeatures({ vmlinux, hasSymbol: ALL_SYMBOLS }).profile).toBe('v24');
  });

  it('falls back to one fentry link per function when the multi enumerators are missing', () => {
    const vmlinux = withEnum('bpf_link_type', NO_MULTI_LINK);
    const sut = probeFeatures({ vmlinux, hasSymbol: ALL_SYMBOLS });
    expect(sut.profile).toBe('none');
    expect(sut.path).toBe('fentry-per-function');
    expect(sut.ladder[0]).toEqual({
      path: 'tracing-multi',
      available: false,
      why: 'BTF lacks BPF_LINK_TYPE_TRACING_MULTI',
    });
  });

  it('falls back to kprobe.multi when trampolines are missing, and to none without fprobe', () => {
    const vmlinux = withEnums({ bpf_attach_type: NO_MULTI_ATTACH, bpf_link_type: NO_MULTI_LINK });
    const withFprobe = probeFeatures({
      vmlinux,
      hasSymbol: symbols('bpf_kprobe_multi_link_attach', 'register_fprobe_ips'),
    });
    expect(withFprobe.path).toBe('kprobe-multi');
    expect(withFprobe.ladder[1]?.why).toBe(
      'missing bpf_trampoline_link_prog, register_ftrace_direct',
    );
    const stubOnly = probeFeatures({ vmlinux, hasSymbol: symbols('bpf_kprobe_multi_link_attach') });
    expect(stubOnly.path).toBe('none');
    expect(stubOnly.ladder[2]?.why).toMatch(/EOPNOTSUPP stub/);
  });

  it('uses the BTF FUNCs as symbols when kallsyms is not available', () => {
    const vmlinux = withEnums({ bpf_attach_type: NO_MULTI_ATTACH, bpf_link_type: NO_MULTI_LINK });
    const sut = probeFeatures({ vmlinux });
    expect(sut.symbolSource).toBe('btf');
    // the fixture has a FUNC bpf_kprobe_multi_link_attach but no register_fprobe_ips
    expect(sut.ladder[2]?.why).toMatch(/is present but fprobe/);
  });
});
