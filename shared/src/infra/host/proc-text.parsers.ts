/**
 * Parsers for the host's text files (/proc/kallsyms, /proc/modules, the error-injection list,
 * available_filter_functions). Pure: they take the file content and return data, so tests feed
 * them strings. Lines that do not parse are returned as `bad` with their 1-based line number.
 */

export interface KallsymsEntry {
  /** hex digits without `0x`; all zeros when kptr_restrict hides addresses */
  readonly address: string;
  /** the nm-style type letter: `T`/`t` text, `W`/`w` weak, `D`/`d` data, ... */
  readonly type: string;
  readonly name: string;
  /** the module column (`[nf_tables]`) without brackets; absent for vmlinux symbols */
  readonly module?: string;
}

export interface KallsymsTable {
  /** every symbol by name; names are not unique (static functions in several files) */
  readonly byName: ReadonlyMap<string, readonly KallsymsEntry[]>;
  readonly count: number;
  /** true when every address reads as zero (no CAP_SYSLOG or kptr_restrict=2) */
  readonly addressesHidden: boolean;
}

export interface BadLine {
  readonly line: number;
  readonly text: string;
}

const ZERO_ADDRESS = /^0+$/;

/** Parses /proc/kallsyms: `<address> <type> <name>[\t[<module>]]` per line. */
export const parseKallsyms = (text: string): { table: KallsymsTable; bad: readonly BadLine[] } => {
  const byName = new Map<string, KallsymsEntry[]>();
  const bad: BadLine[] = [];
  let count = 0;
  let nonZero = false;
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end);
    start = end + 1;
    if (line === '') continue;
    const sp1 = line.indexOf(' ');
    const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 !== sp1 + 2) {
      bad.push({ line: lineNo, text: line });
      continue;
    }
    const address = line.slice(0, sp1);
    const type = line[sp1 + 1]!;
    const tab = line.indexOf('\t', sp2 + 1);
    const name = tab < 0 ? line.slice(sp2 + 1) : line.slice(sp2 + 1, tab);
    let entry: KallsymsEntry;
    if (tab >= 0) {
      const col = line.slice(tab + 1).trim();
      const module = col.startsWith('[') && col.endsWith(']') ? col.slice(1, -1) : col;
      entry = { address, type, name, module };
    } else entry = { address, type, name };
    if (!nonZero && !ZERO_ADDRESS.test(address)) nonZero = true;
    const list = byName.get(name);
    if (list) list.push(entry);
    else byName.set(name, [entry]);
    count++;
  }
  return { table: { byName, count, addressesHidden: count > 0 && !nonZero }, bad };
};

/** kallsyms types that denote code: text and weak symbols. */
export const isTextSymbol = (entry: KallsymsEntry): boolean => /^[tTwW]$/.test(entry.type);

export type ModuleState = 'live' | 'loading' | 'unloading';

export interface ProcModule {
  readonly name: string;
  readonly size: number;
  readonly refcount: number;
  /** modules that use this one (the 4th column), empty for `-` */
  readonly usedBy: readonly string[];
  readonly state: ModuleState;
  readonly address?: string;
}

const MODULE_STATES: Readonly<Record<string, ModuleState>> = {
  Live: 'live',
  Loading: 'loading',
  Unloading: 'unloading',
};

/** Parses /proc/modules: `name size refcount used_by state address [taints]`. */
export const parseProcModules = (
  text: string,
): { modules: readonly ProcModule[]; bad: readonly BadLine[] } => {
  const modules: ProcModule[] = [];
  const bad: BadLine[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const cols = line.trim().split(/\s+/);
    const [name, size, refcount, usedBy, state, address] = cols;
    const parsedState = state === undefined ? undefined : MODULE_STATES[state];
    if (
      !name ||
      !/^\d+$/.test(size ?? '') ||
      !/^-?\d+$/.test(refcount ?? '') ||
      usedBy === undefined ||
      !parsedState
    ) {
      bad.push({ line: i + 1, text: line });
      return;
    }
    const users = usedBy === '-' ? [] : usedBy.split(',').filter((u) => u !== '');
    const base = {
      name,
      size: Number(size),
      refcount: Number(refcount),
      usedBy: users,
      state: parsedState,
    };
    modules.push(address ? { ...base, address: address.replace(/^0x/, '') } : base);
  });
  return { modules, bad };
};

export interface ErrorInjectionEntry {
  readonly name: string;
  /** ERRNO, ERRNO_NULL, ERRNO_TRUE, NULL, TRUE... as the kernel prints it */
  readonly errorType: string;
  readonly module?: string;
}

/** Parses /sys/kernel/debug/error_injection/list: `name[ [module]]\tTYPE` per line. */
export const parseErrorInjectionList = (
  text: string,
): { entries: readonly ErrorInjectionEntry[]; bad: readonly BadLine[] } => {
  const entries: ErrorInjectionEntry[] = [];
  const bad: BadLine[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^(\S+)(?:\s+\[(\S+)\])?\s+(\S+)\s*$/.exec(line);
    if (!m) {
      bad.push({ line: i + 1, text: line });
      return;
    }
    const [, name, module, errorType] = m;
    entries.push(
      module
        ? { name: name!, errorType: errorType!, module }
        : { name: name!, errorType: errorType! },
    );
  });
  return { entries, bad };
};

export interface TraceableFunction {
  readonly name: string;
  readonly module?: string;
}

/** Parses tracing/available_filter_functions: `name[ [module]]` per line (ftrace-able functions). */
export const parseAvailableFilterFunctions = (
  text: string,
): { functions: readonly TraceableFunction[]; bad: readonly BadLine[] } => {
  const functions: TraceableFunction[] = [];
  const bad: BadLine[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^(\S+)(?:\s+\[(\S+)\])?\s*$/.exec(line);
    if (!m) {
      bad.push({ line: i + 1, text: line });
      return;
    }
    functions.push(m[2] ? { name: m[1]!, module: m[2] } : { name: m[1]! });
  });
  return { functions, bad };
};
