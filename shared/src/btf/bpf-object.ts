/**
 * A reader of compiled BPF objects (the ELF relocatable files clang emits with `-target bpf`):
 * the programs an object holds (function symbol, section, the attach type the section implies),
 * its license, and whether it carries BTF and BTF.ext (CO-RE). Pure and bounded: every offset
 * and size is checked against the bytes before it is read, and a refusal names the byte offset
 * of what is wrong. It reads no instruction and relocates nothing: loading is libbpf's job.
 */
import type { Result } from '../lib/result.js';
import { err, ok } from '../lib/result.js';
import { decodeUtf8 } from '../lib/utf8.js';

/** ELF constants (System V gABI; e_machine EM_BPF = 247). */
const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ELFDATA2MSB = 2;
const EV_CURRENT = 1;
const ET_REL = 1;
export const EM_BPF = 247;
const ELF64_HEADER_SIZE = 64;
const ELF64_SECTION_HEADER_SIZE = 64;
const ELF64_SYMBOL_SIZE = 24;
const SHT_NULL = 0;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOBITS = 8;
const SHF_EXECINSTR = 0x4;
const STT_FUNC = 2;
const STB_LOCAL = 0;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const SHN_LORESERVE = 0xff00;
/** One BPF instruction is 8 bytes. */
const BPF_INSN_SIZE = 8;

/** Bounds on what is read (far above any real object; a hostile file stops at them). */
export const BPF_OBJECT_LIMITS = {
  /** most bytes an object may have */
  maxBytes: 64 << 20,
  /** most section headers */
  maxSections: 4096,
  /** most symbols */
  maxSymbols: 1 << 18,
  /** longest section or symbol name */
  maxNameLength: 1024,
  /** longest license string */
  maxLicenseLength: 128,
} as const;

/**
 * What a program's section says about how it attaches (libbpf's section names, with the
 * tracing multi sections of Linux 7.2+). `unknown`: a section libbpf would need told.
 */
export const BPF_SECTION_ATTACH = [
  'fentry',
  'fexit',
  'fmod_ret',
  'fsession',
  'fentry.multi',
  'fexit.multi',
  'fsession.multi',
  'lsm',
  'lsm_cgroup',
  'kprobe',
  'kretprobe',
  'kprobe.multi',
  'kretprobe.multi',
  'kprobe.session',
  'uprobe',
  'uretprobe',
  'uprobe.multi',
  'uretprobe.multi',
  'tracepoint',
  'raw_tracepoint',
  'tp_btf',
  'iter',
  'freplace',
  'perf_event',
  'socket',
  'xdp',
  'tc',
  'cgroup',
  'struct_ops',
  'syscall',
  'unknown',
] as const;
export type BpfSectionAttach = (typeof BPF_SECTION_ATTACH)[number];

/** Section prefixes, the longest first where one is the start of another. */
const SECTION_PREFIXES: readonly (readonly [string, BpfSectionAttach, boolean])[] = [
  // [prefix, attach, sleepable]
  ['fentry.multi.s', 'fentry.multi', true],
  ['fentry.multi', 'fentry.multi', false],
  ['fexit.multi.s', 'fexit.multi', true],
  ['fexit.multi', 'fexit.multi', false],
  ['fsession.multi.s', 'fsession.multi', true],
  ['fsession.multi', 'fsession.multi', false],
  ['fentry.s', 'fentry', true],
  ['fentry', 'fentry', false],
  ['fexit.s', 'fexit', true],
  ['fexit', 'fexit', false],
  ['fmod_ret.s', 'fmod_ret', true],
  ['fmod_ret', 'fmod_ret', false],
  ['fsession.s', 'fsession', true],
  ['fsession', 'fsession', false],
  ['lsm.s', 'lsm', true],
  ['lsm_cgroup', 'lsm_cgroup', false],
  ['lsm', 'lsm', false],
  ['kprobe.multi', 'kprobe.multi', false],
  ['kretprobe.multi', 'kretprobe.multi', false],
  ['kprobe.session', 'kprobe.session', false],
  ['kprobe', 'kprobe', false],
  ['kretprobe', 'kretprobe', false],
  ['uprobe.multi.s', 'uprobe.multi', true],
  ['uprobe.multi', 'uprobe.multi', false],
  ['uretprobe.multi.s', 'uretprobe.multi', true],
  ['uretprobe.multi', 'uretprobe.multi', false],
  ['uprobe.s', 'uprobe', true],
  ['uprobe', 'uprobe', false],
  ['uretprobe.s', 'uretprobe', true],
  ['uretprobe', 'uretprobe', false],
  ['tracepoint', 'tracepoint', false],
  ['tp_btf', 'tp_btf', false],
  ['tp', 'tracepoint', false],
  ['raw_tracepoint', 'raw_tracepoint', false],
  ['raw_tp', 'raw_tracepoint', false],
  ['iter.s', 'iter', true],
  ['iter', 'iter', false],
  ['freplace', 'freplace', false],
  ['perf_event', 'perf_event', false],
  ['socket', 'socket', false],
  ['xdp', 'xdp', false],
  ['tcx', 'tc', false],
  ['tc', 'tc', false],
  ['classifier', 'tc', false],
  ['cgroup', 'cgroup', false],
  ['cgroup_skb', 'cgroup', false],
  ['struct_ops.s', 'struct_ops', true],
  ['struct_ops', 'struct_ops', false],
  ['syscall', 'syscall', false],
];

/**
 * The attach type a program's section implies, whether it is sleepable, and the target the
 * section names (`fentry/tcp_sendmsg` → `tcp_sendmsg`; none when the section names no target,
 * as `fentry.multi`, whose targets are given at link time). A section matches a prefix when it
 * is the prefix or the prefix then `/` (libbpf's `SEC_DEF("fentry+")`).
 */
export const sectionAttach = (
  section: string,
): { attach: BpfSectionAttach; sleepable: boolean; target?: string } => {
  for (const [prefix, attach, sleepable] of SECTION_PREFIXES) {
    if (section === prefix) return { attach, sleepable };
    if (section.startsWith(`${prefix}/`)) {
      const target = section.slice(prefix.length + 1);
      return target === '' ? { attach, sleepable } : { attach, sleepable, target };
    }
  }
  return { attach: 'unknown', sleepable: false };
};

/** One program of an object: a function symbol in an executable section other than `.text`. */
export interface BpfObjectProgram {
  /** the function's symbol name (what libbpf's `bpf_object__find_program_by_name` takes) */
  readonly name: string;
  readonly section: string;
  readonly attach: BpfSectionAttach;
  readonly sleepable: boolean;
  /** the target the section names, if any */
  readonly target?: string;
  /** its size in instructions */
  readonly instructions: number;
  /** a global (or weak) symbol; a static function in a program section is a program too */
  readonly global: boolean;
}

export interface BpfObjectInfo {
  /** the byte order of the object (`bpfel` or `bpfeb`) */
  readonly byteOrder: 'little' | 'big';
  readonly size: number;
  /** programs in the order of their symbols */
  readonly programs: readonly BpfObjectProgram[];
  /** the `license` section's string; undefined when the object has none */
  readonly license?: string;
  readonly hasBtf: boolean;
  readonly hasBtfExt: boolean;
  /** the names of every section, in order (index 0, the null section, left out) */
  readonly sections: readonly string[];
}

/** Why bytes are not a BPF object: what is wrong and the byte offset where it was found. */
export interface BpfObjectError {
  readonly offset: number;
  readonly message: string;
}

/** `bpf object: <message> (at byte <offset>)` */
export const formatBpfObjectError = (e: BpfObjectError): string =>
  `not a BPF object: ${e.message} (at byte ${e.offset})`;

class Refused {
  readonly offset: number;
  readonly message: string;
  constructor(offset: number, message: string) {
    this.offset = offset;
    this.message = message;
  }
}

interface SectionHeader {
  readonly index: number;
  readonly at: number;
  readonly nameOffset: number;
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly entsize: number;
}

/** Reads the object's sections and symbols; throws `Refused` (caught in `readBpfObject`). */
const read = (bytes: Uint8Array): BpfObjectInfo => {
  const fail = (offset: number, message: string): never => {
    throw new Refused(offset, message);
  };
  if (bytes.length < ELF64_HEADER_SIZE)
    fail(0, `${bytes.length} bytes, fewer than the ${ELF64_HEADER_SIZE} of an ELF64 header`);
  for (let i = 0; i < ELF_MAGIC.length; i++)
    if (bytes[i] !== ELF_MAGIC[i]) fail(i, 'no ELF magic (7f 45 4c 46)');
  if (bytes[4] !== ELFCLASS64) fail(4, `ELF class ${bytes[4]}, not 64-bit (2)`);
  const data = bytes[5];
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB)
    fail(5, `ELF data encoding ${data}, neither little (1) nor big endian (2)`);
  const little = data === ELFDATA2LSB;
  if (bytes[6] !== EV_CURRENT) fail(6, `ELF version ${bytes[6]}, not 1`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number): number => view.getUint16(at, little);
  const u32 = (at: number): number => view.getUint32(at, little);
  /** a 64-bit offset or size: exact up to 2^53, else refused */
  const u64 = (at: number, what: string): number => {
    const value = view.getBigUint64(at, little);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(at, `${what} ${value} is out of range`);
    return Number(value);
  };
  const type = u16(16);
  if (type !== ET_REL) fail(16, `ELF type ${type}, not a relocatable object (1)`);
  const machine = u16(18);
  if (machine !== EM_BPF) fail(18, `ELF machine ${machine}, not BPF (${EM_BPF})`);
  const shoff = u64(40, 'section header offset');
  const shentsize = u16(58);
  const shnum = u16(60);
  const shstrndx = u16(62);
  if (shoff === 0 || shnum === 0) fail(40, 'no section headers');
  if (shentsize !== ELF64_SECTION_HEADER_SIZE)
    fail(58, `section header size ${shentsize}, not ${ELF64_SECTION_HEADER_SIZE}`);
  if (shnum > BPF_OBJECT_LIMITS.maxSections)
    fail(60, `${shnum} sections, more than ${BPF_OBJECT_LIMITS.maxSections}`);
  if (shoff + shnum * shentsize > bytes.length)
    fail(
      40,
      `the ${shnum} section headers at ${shoff} end past the object's ${bytes.length} bytes`,
    );
  if (shstrndx === 0 || shstrndx >= shnum)
    fail(62, `section name table index ${shstrndx} is not one of the ${shnum} sections`);

  const headers: SectionHeader[] = [];
  for (let index = 0; index < shnum; index++) {
    const at = shoff + index * shentsize;
    const header: SectionHeader = {
      index,
      at,
      nameOffset: u32(at),
      type: u32(at + 4),
      flags: u64(at + 8, 'section flags'),
      offset: u64(at + 24, 'section offset'),
      size: u64(at + 32, 'section size'),
      link: u32(at + 40),
      entsize: u64(at + 56, 'section entry size'),
    };
    if (
      header.type !== SHT_NOBITS &&
      header.type !== SHT_NULL &&
      header.offset + header.size > bytes.length
    )
      fail(
        at + 24,
        `section ${index}'s ${header.size} bytes at ${header.offset} end past the object's ${bytes.length} bytes`,
      );
    headers.push(header);
  }

  /** the NUL-terminated string at `offset` of a string table section */
  const stringAt = (table: SectionHeader, offset: number, from: number, what: string): string => {
    if (table.type !== SHT_STRTAB)
      fail(table.at + 4, `section ${table.index} (the ${what} strings) is not a string table`);
    if (offset >= table.size)
      fail(from, `${what} name offset ${offset} is past its string table (${table.size} bytes)`);
    const start = table.offset + offset;
    const limit = Math.min(table.offset + table.size, start + BPF_OBJECT_LIMITS.maxNameLength + 1);
    let end = start;
    while (end < limit && bytes[end] !== 0) end++;
    if (end === limit)
      fail(
        start,
        `${what} name is not NUL-terminated within ${Math.min(limit - start, BPF_OBJECT_LIMITS.maxNameLength)} bytes`,
      );
    return decodeUtf8(bytes.subarray(start, end));
  };

  const names = headers[shstrndx]!;
  const sectionNames = headers.map((h) =>
    h.index === 0 ? '' : stringAt(names, h.nameOffset, h.at, 'section'),
  );

  const symtabs = headers.filter((h) => h.type === SHT_SYMTAB);
  if (symtabs.length === 0) fail(shoff, 'no symbol table (SHT_SYMTAB): no program can be named');
  if (symtabs.length > 1) fail(symtabs[1]!.at, `${symtabs.length} symbol tables, more than one`);
  const symtab = symtabs[0]!;
  if (symtab.entsize !== ELF64_SYMBOL_SIZE)
    fail(symtab.at + 56, `symbol size ${symtab.entsize}, not ${ELF64_SYMBOL_SIZE}`);
  if (symtab.size % ELF64_SYMBOL_SIZE !== 0)
    fail(symtab.at + 32, `symbol table size ${symtab.size} is not a multiple of 24`);
  const symbolCount = symtab.size / ELF64_SYMBOL_SIZE;
  if (symbolCount > BPF_OBJECT_LIMITS.maxSymbols)
    fail(symtab.at + 32, `${symbolCount} symbols, more than ${BPF_OBJECT_LIMITS.maxSymbols}`);
  if (symtab.link === 0 || symtab.link >= shnum)
    fail(symtab.at + 40, `symbol string table index ${symtab.link} is not a section`);
  const symbolNames = headers[symtab.link]!;

  const programs: BpfObjectProgram[] = [];
  const seen = new Map<string, number>();
  for (let i = 1; i < symbolCount; i++) {
    const at = symtab.offset + i * ELF64_SYMBOL_SIZE;
    const info = bytes[at + 4]!;
    if ((info & 0xf) !== STT_FUNC) continue;
    const shndx = u16(at + 6);
    if (shndx === 0 || shndx >= SHN_LORESERVE) continue;
    if (shndx >= shnum) fail(at + 6, `symbol ${i} names section ${shndx}, not one of ${shnum}`);
    const section = headers[shndx]!;
    const sectionName = sectionNames[shndx]!;
    // functions of .text are subprograms (static helpers, or callees of global functions)
    if ((section.flags & SHF_EXECINSTR) === 0 || sectionName === '.text') continue;
    const binding = info >> 4;
    if (binding !== STB_LOCAL && binding !== STB_GLOBAL && binding !== STB_WEAK)
      fail(at + 4, `symbol ${i} has binding ${binding}`);
    const name = stringAt(symbolNames, u32(at), at, 'symbol');
    if (name === '') fail(at, `function symbol ${i} in section ${sectionName} has no name`);
    const value = u64(at + 8, 'symbol value');
    const size = u64(at + 16, 'symbol size');
    if (value + size > section.size)
      fail(
        at + 8,
        `function ${name} (${size} bytes at ${value}) ends past its section ${sectionName} (${section.size} bytes)`,
      );
    if (size % BPF_INSN_SIZE !== 0 || value % BPF_INSN_SIZE !== 0)
      fail(at + 8, `function ${name} is not made of whole 8-byte instructions`);
    const earlier = seen.get(name);
    if (earlier !== undefined)
      fail(at, `function ${name} is defined twice (symbols ${earlier} and ${i})`);
    seen.set(name, i);
    const implied = sectionAttach(sectionName);
    programs.push({
      name,
      section: sectionName,
      attach: implied.attach,
      sleepable: implied.sleepable,
      ...(implied.target === undefined ? {} : { target: implied.target }),
      instructions: size / BPF_INSN_SIZE,
      global: binding !== STB_LOCAL,
    });
  }

  let license: string | undefined;
  const licenseIndex = sectionNames.indexOf('license');
  if (licenseIndex > 0) {
    const h = headers[licenseIndex]!;
    if (h.type === SHT_NOBITS) fail(h.at + 4, 'the license section holds no bytes');
    const text = bytes.subarray(h.offset, h.offset + h.size);
    const nul = text.indexOf(0);
    if (nul < 0) fail(h.offset, 'the license is not NUL-terminated');
    if (nul > BPF_OBJECT_LIMITS.maxLicenseLength)
      fail(h.offset, `the license is longer than ${BPF_OBJECT_LIMITS.maxLicenseLength} bytes`);
    license = decodeUtf8(text.subarray(0, nul));
  }

  return {
    byteOrder: little ? 'little' : 'big',
    size: bytes.length,
    programs,
    ...(license === undefined ? {} : { license }),
    hasBtf: sectionNames.includes('.BTF'),
    hasBtfExt: sectionNames.includes('.BTF.ext'),
    sections: sectionNames.slice(1),
  };
};

/**
 * Reads a BPF object: its programs, license and BTF sections, or why the bytes are not one (the
 * first problem, with its byte offset). An object with no program is refused too: there is
 * nothing a policy could name in it.
 */
export const readBpfObject = (bytes: Uint8Array): Result<BpfObjectInfo, BpfObjectError> => {
  if (bytes.length > BPF_OBJECT_LIMITS.maxBytes)
    return err({
      offset: BPF_OBJECT_LIMITS.maxBytes,
      message: `${bytes.length} bytes, more than ${BPF_OBJECT_LIMITS.maxBytes}`,
    });
  try {
    const info = read(bytes);
    if (info.programs.length === 0)
      return err({
        offset: 0,
        message:
          'no program: no function symbol in an executable section other than .text (compiled without SEC("...")?)',
      });
    return ok(info);
  } catch (error) {
    if (error instanceof Refused) return err({ offset: error.offset, message: error.message });
    throw error;
  }
};
