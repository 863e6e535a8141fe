/**
 * Loading a compiled BPF ELF object (CO-RE) through libbpf.so.1 (Debian's libbpf1, 1.1 on
 * bookworm): libbpf parses the object, applies the CO-RE relocations against the running
 * kernel's BTF, creates its maps and loads the program; the agent keeps a duplicate of the
 * program's fd and closes the object (the program holds its maps). IMPURE.
 *
 * libbpf 1.1 does not know the tracing multi attach types (59/60/61): for them the program's
 * type and expected attach type are set by hand (`bpf_program__set_type`,
 * `bpf_program__set_expected_attach_type`) before `bpf_object__load`; whether libbpf 1.1 then
 * loads it with `attach_btf_id` 0 as the kernel requires is only provable inside the VM tier on
 * 7.3 (this build host refuses every tracing program). Socket filter objects load here.
 */
import { lastLines, VERIFIER_LOG_LINES } from './bpf-commands.js';
import type { SysError, SysResult } from './bpf-syscall.js';
import { ffi, fromCString, sysError } from './bpf-syscall.js';

type Ptr = unknown;

interface Libbpf {
  readonly openMem: (buf: Buffer, size: number, opts: null) => Ptr;
  readonly load: (obj: Ptr) => number;
  readonly close: (obj: Ptr) => void;
  readonly findProgram: (obj: Ptr, name: string) => Ptr;
  readonly nextProgram: (obj: Ptr, prev: Ptr) => Ptr;
  readonly programName: (prog: Ptr) => string;
  readonly programFd: (prog: Ptr) => number;
  readonly setType: (prog: Ptr, type: number) => number;
  readonly setExpectedAttachType: (prog: Ptr, type: number) => number;
  readonly setAttachTarget: (prog: Ptr, fd: number, name: string | null) => number;
  readonly setAutoload: (prog: Ptr, load: boolean) => number;
  readonly setLogBuf: (prog: Ptr, buf: Buffer, size: number) => number;
  readonly setLogLevel: (prog: Ptr, level: number) => number;
  readonly dup: (fd: number) => number;
}

let libbpf: Libbpf | undefined;

/** libbpf.so.1, loaded on first use; throws when the library is not installed (a deployment bug). */
const theLibbpf = (): Libbpf => {
  if (libbpf !== undefined) return libbpf;
  const koffi = ffi();
  const lib = koffi.load('libbpf.so.1');
  const libc = koffi.load('libc.so.6');
  koffi.opaque('bpf_object');
  koffi.opaque('bpf_program');
  libbpf = {
    openMem: lib.func(
      'bpf_object *bpf_object__open_mem(const void *, size_t, const void *)',
    ) as Libbpf['openMem'],
    load: lib.func('int bpf_object__load(bpf_object *)') as Libbpf['load'],
    close: lib.func('void bpf_object__close(bpf_object *)') as Libbpf['close'],
    findProgram: lib.func(
      'bpf_program *bpf_object__find_program_by_name(bpf_object *, const char *)',
    ) as Libbpf['findProgram'],
    nextProgram: lib.func(
      'bpf_program *bpf_object__next_program(bpf_object *, bpf_program *)',
    ) as Libbpf['nextProgram'],
    programName: lib.func('const char *bpf_program__name(bpf_program *)') as Libbpf['programName'],
    programFd: lib.func('int bpf_program__fd(bpf_program *)') as Libbpf['programFd'],
    setType: lib.func('int bpf_program__set_type(bpf_program *, int)') as Libbpf['setType'],
    setExpectedAttachType: lib.func(
      'int bpf_program__set_expected_attach_type(bpf_program *, int)',
    ) as Libbpf['setExpectedAttachType'],
    setAttachTarget: lib.func(
      'int bpf_program__set_attach_target(bpf_program *, int, const char *)',
    ) as Libbpf['setAttachTarget'],
    setAutoload: lib.func(
      'int bpf_program__set_autoload(bpf_program *, bool)',
    ) as Libbpf['setAutoload'],
    setLogBuf: lib.func(
      'int bpf_program__set_log_buf(bpf_program *, void *, size_t)',
    ) as Libbpf['setLogBuf'],
    setLogLevel: lib.func(
      'int bpf_program__set_log_level(bpf_program *, uint32_t)',
    ) as Libbpf['setLogLevel'],
    dup: libc.func('int dup(int)') as Libbpf['dup'],
  };
  return libbpf;
};

/** How the program is to be loaded when the object's section name does not say (multi types). */
export interface ObjectLoadInput {
  /** the ELF object's bytes (already verified against its sha256 digest by the caller) */
  readonly bytes: Buffer;
  /** the program inside the object */
  readonly program: string;
  /** set the program's type (e.g. 26 TRACING) when libbpf cannot tell it from the section */
  readonly progType?: number;
  readonly expectedAttachType?: number;
  /** a single fentry/fexit's target function name (libbpf finds its BTF id, vmlinux or module) */
  readonly attachTo?: string;
}

/** A refused object load: the errno, where (open, find, load) and the verifier log's last lines. */
export type ObjectLoadError = SysError & {
  readonly stage: 'open' | 'find' | 'load';
  readonly log: readonly string[];
  readonly programs?: readonly string[];
};

const VERIFIER_LOG_BYTES = 256 * 1024;

/**
 * Opens `bytes` with libbpf, loads `program` (the object's other programs are not loaded) and
 * returns a private fd of it; the object is closed again. Every refusal carries libbpf's errno.
 */
export const loadObjectProgram = (
  input: ObjectLoadInput,
): { readonly ok: true; readonly value: number } | ObjectLoadError => {
  const l = theLibbpf();
  const obj = l.openMem(input.bytes, input.bytes.length, null);
  if (obj === null) return { ...sysError(ffi().errno() as number), stage: 'open', log: [] };
  try {
    const names: string[] = [];
    let wanted: Ptr = null;
    for (let p = l.nextProgram(obj, null); p !== null; p = l.nextProgram(obj, p)) {
      const name = l.programName(p);
      names.push(name);
      if (name === input.program) wanted = p;
      else l.setAutoload(p, false);
    }
    if (wanted === null) return { ...sysError(2), stage: 'find', log: [], programs: names };
    if (input.progType !== undefined) l.setType(wanted, input.progType);
    if (input.expectedAttachType !== undefined)
      l.setExpectedAttachType(wanted, input.expectedAttachType);
    if (input.attachTo !== undefined) {
      const r = l.setAttachTarget(wanted, 0, input.attachTo);
      if (r < 0) return { ...sysError(-r), stage: 'load', log: [] };
    }
    const log = Buffer.alloc(VERIFIER_LOG_BYTES);
    l.setLogBuf(wanted, log, log.length);
    l.setLogLevel(wanted, 1);
    const loaded = l.load(obj);
    if (loaded < 0)
      return {
        ...sysError(-loaded),
        stage: 'load',
        log: lastLines(fromCString(log), VERIFIER_LOG_LINES),
      };
    const fd = l.dup(l.programFd(wanted));
    if (fd < 0) return { ...sysError(ffi().errno() as number), stage: 'load', log: [] };
    return { ok: true, value: fd };
  } finally {
    l.close(obj);
  }
};

/** The names of the programs an object holds (libbpf's view), or the open errno. */
export const objectPrograms = (bytes: Buffer): SysResult<string[]> => {
  const l = theLibbpf();
  const obj = l.openMem(bytes, bytes.length, null);
  if (obj === null) return sysError(ffi().errno() as number);
  try {
    const names: string[] = [];
    for (let p = l.nextProgram(obj, null); p !== null; p = l.nextProgram(obj, p))
      names.push(l.programName(p));
    return { ok: true, value: names };
  } finally {
    l.close(obj);
  }
};
