import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BPF_OBJECT_LIMITS,
  formatBpfObjectError,
  readBpfObject,
  sectionAttach,
} from '../../../shared/src/btf/index.js';
import type { BpfObjectInfo } from '../../../shared/src/btf/index.js';
import {
  RETURN_ZERO,
  bpfElf,
  exampleObject,
  oneProgramObject,
} from '../../fixtures/programs/bpf-elf.fixture.js';

const read = (bytes: Uint8Array): BpfObjectInfo => {
  const r = readBpfObject(bytes);
  if (!r.ok) throw new Error(formatBpfObjectError(r.error));
  return r.value;
};

const refusal = (bytes: Uint8Array): { offset: number; message: string } => {
  const r = readBpfObject(bytes);
  if (r.ok) throw new Error('expected a refusal');
  return r.error;
};

describe('readBpfObject on the committed example objects (clang -target bpf)', () => {
  it('lists the tracing multi programs, their sections and attach types', () => {
    const info = read(exampleObject('func_stats_multi'));
    expect(info.programs.map((p) => [p.name, p.section, p.attach])).toEqual([
      ['stats_entry', 'fentry.multi', 'fentry.multi'],
      ['stats_exit', 'fexit.multi', 'fexit.multi'],
    ]);
    expect(info.license).toBe('Dual BSD/GPL');
    expect(info.hasBtf).toBe(true);
    expect(info.hasBtfExt).toBe(true);
    expect(info.byteOrder).toBe('little');
    expect(info.programs.every((p) => p.instructions > 10 && p.global)).toBe(true);
  });

  it('reads the plain fentry/fexit form and the fmod_ret LSM example with its target', () => {
    expect(read(exampleObject('func_stats')).programs.map((p) => [p.name, p.attach])).toEqual([
      ['stats_fentry', 'fentry'],
      ['stats_fexit', 'fexit'],
    ]);
    const lsm = read(exampleObject('lsm_deny'));
    expect(lsm.programs).toHaveLength(1);
    expect(lsm.programs[0]).toMatchObject({
      name: 'deny_exec',
      section: 'fmod_ret/security_bprm_check',
      attach: 'fmod_ret',
      target: 'security_bprm_check',
      sleepable: false,
    });
    expect(lsm.license).toBe('GPL');
    // .text holds no program; .rodata (deny_comm) is a data section
    expect(lsm.sections).toContain('.rodata');
  });
});

describe('sectionAttach (libbpf section names, tracing multi of 7.2+)', () => {
  it.each([
    ['fentry/tcp_sendmsg', 'fentry', false, 'tcp_sendmsg'],
    ['fentry.s/do_sys_open', 'fentry', true, 'do_sys_open'],
    ['fexit', 'fexit', false, undefined],
    ['fmod_ret/security_file_open', 'fmod_ret', false, 'security_file_open'],
    ['fsession/bpf_fentry_test1', 'fsession', false, 'bpf_fentry_test1'],
    ['fentry.multi', 'fentry.multi', false, undefined],
    ['fentry.multi/bpf_fentry_test*', 'fentry.multi', false, 'bpf_fentry_test*'],
    ['fexit.multi/tcp_*', 'fexit.multi', false, 'tcp_*'],
    ['fsession.multi', 'fsession.multi', false, undefined],
    ['fentry.multi.s/x', 'fentry.multi', true, 'x'],
    ['kprobe/tcp_v4_connect', 'kprobe', false, 'tcp_v4_connect'],
    ['kprobe.multi/tcp_*', 'kprobe.multi', false, 'tcp_*'],
    ['kretprobe.multi/tcp_*', 'kretprobe.multi', false, 'tcp_*'],
    ['lsm/file_open', 'lsm', false, 'file_open'],
    ['lsm.s/bprm_check_security', 'lsm', true, 'bprm_check_security'],
    ['tp/syscalls/sys_enter_openat', 'tracepoint', false, 'syscalls/sys_enter_openat'],
    ['raw_tp/sched_switch', 'raw_tracepoint', false, 'sched_switch'],
    ['xdp', 'xdp', false, undefined],
  ])('%s -> %s', (section, attach, sleepable, target) => {
    const got = sectionAttach(section);
    expect(got.attach).toBe(attach);
    expect(got.sleepable).toBe(sleepable);
    expect(got.target).toBe(target);
  });

  it('does not take a longer word for a prefix (fentryx is unknown, fentry.multix too)', () => {
    expect(sectionAttach('fentryx/foo').attach).toBe('unknown');
    expect(sectionAttach('fentry.multix').attach).toBe('unknown');
    expect(sectionAttach('.text').attach).toBe('unknown');
  });
});

describe('readBpfObject on synthetic objects', () => {
  it('takes every function of an executable section but .text; static ones too', () => {
    const info = read(
      bpfElf(
        [
          { name: '.text', bytes: RETURN_ZERO },
          { name: 'fentry.multi', bytes: new Uint8Array([...RETURN_ZERO, ...RETURN_ZERO]) },
          { name: '.data', flags: 3, bytes: new Uint8Array(8) },
        ],
        [
          { name: 'helper', section: '.text', size: 16 },
          { name: 'first', section: 'fentry.multi', size: 16 },
          { name: 'second', section: 'fentry.multi', offset: 16, size: 16, binding: 0 },
          { name: 'not_code', section: '.data', size: 8 },
        ],
      ),
    );
    expect(info.programs.map((p) => [p.name, p.global])).toEqual([
      ['first', true],
      ['second', false],
    ]);
    expect(info.license).toBeUndefined();
    expect(info.hasBtf).toBe(false);
  });

  it('refuses an object without any program', () => {
    const e = refusal(bpfElf([{ name: '.text', bytes: RETURN_ZERO }], []));
    expect(e.message).toMatch(/no program/);
  });

  it('names the byte offset of what is wrong', () => {
    const good = oneProgramObject('prog');
    expect(refusal(good.subarray(0, 10))).toMatchObject({ offset: 0 });
    const notElf = good.slice();
    notElf[1] = 0x00;
    expect(refusal(notElf)).toEqual({ offset: 1, message: 'no ELF magic (7f 45 4c 46)' });
    const x86 = good.slice();
    x86[18] = 62;
    expect(refusal(x86)).toEqual({ offset: 18, message: 'ELF machine 62, not BPF (247)' });
    const elf32 = good.slice();
    elf32[4] = 1;
    expect(refusal(elf32).offset).toBe(4);
    const exec = good.slice();
    exec[16] = 2;
    expect(refusal(exec).message).toMatch(/not a relocatable object/);
    // section headers moved past the end
    const far = good.slice();
    new DataView(far.buffer).setBigUint64(40, BigInt(good.length), true);
    expect(refusal(far)).toMatchObject({ offset: 40 });
    expect(refusal(far).message).toMatch(/end past the object/);
  });

  it('refuses a function that ends past its section, or a duplicate name', () => {
    const long = bpfElf(
      [{ name: 'fentry', bytes: RETURN_ZERO }],
      [{ name: 'p', section: 'fentry', size: 24 }],
    );
    expect(refusal(long).message).toMatch(/ends past its section fentry/);
    const twice = bpfElf(
      [
        { name: 'fentry', bytes: RETURN_ZERO },
        { name: 'fexit', bytes: RETURN_ZERO },
      ],
      [
        { name: 'p', section: 'fentry', size: 16 },
        { name: 'p', section: 'fexit', size: 16 },
      ],
    );
    expect(refusal(twice).message).toMatch(/defined twice/);
  });

  it('refuses a license without its NUL', () => {
    const e = refusal(
      bpfElf(
        [
          { name: 'fentry', bytes: RETURN_ZERO },
          { name: 'license', flags: 3, bytes: Buffer.from('GPL') },
        ],
        [{ name: 'p', section: 'fentry', size: 16 }],
      ),
    );
    expect(e.message).toMatch(/license is not NUL-terminated/);
  });

  it('refuses more bytes than its bound before reading any', () => {
    const big = new Uint8Array(BPF_OBJECT_LIMITS.maxBytes + 1);
    expect(refusal(big).message).toMatch(/more than/);
  });
});

describe('readBpfObject on hostile bytes (property)', () => {
  const valid = [exampleObject('func_stats_multi'), exampleObject('lsm_deny')];

  it('never throws on random bytes: a refusal with an offset inside the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const r = readBpfObject(bytes);
        if (!r.ok) {
          expect(r.error.offset).toBeGreaterThanOrEqual(0);
          expect(r.error.offset).toBeLessThanOrEqual(Math.max(bytes.length, 64));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on a real object with bytes changed or cut: programs found are in it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.option(fc.nat(), { nil: undefined }),
        (original, edits, cut) => {
          const bytes = original.slice(0, cut === undefined ? undefined : cut % original.length);
          for (const [at, value] of edits) if (bytes.length > 0) bytes[at % bytes.length] = value;
          const r = readBpfObject(bytes);
          if (r.ok) {
            expect(r.value.programs.length).toBeGreaterThan(0);
            for (const p of r.value.programs) {
              expect(p.name.length).toBeGreaterThan(0);
              expect(p.instructions).toBeGreaterThanOrEqual(0);
            }
          } else {
            expect(formatBpfObjectError(r.error)).toMatch(/^not a BPF object: .+ \(at byte \d+\)$/);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
