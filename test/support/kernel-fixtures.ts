import { expect } from 'vitest';
import { applyOp, buildKernel, checkInvariants, dumpState } from '@tramway/shared/kernel';
import type {
  Errno,
  FailedTarget,
  FunctionDecl,
  KernelOp,
  KernelProfile,
  KernelLimits,
  KernelSpec,
  KernelState,
  OpValue,
  TargetRef,
} from '@tramway/shared/kernel';

/** bpf_fentry_test-like vmlinux functions plus the special cases the rules need. */
export const VMLINUX_FUNCTIONS: readonly FunctionDecl[] = [
  { name: 'f1', ret: 'int', params: ['int'] },
  { name: 'f2', ret: 'int', params: ['int', 'u64'] },
  { name: 'f3', ret: 'int', params: ['char', 'int', 'u64'] },
  { name: 'f4', ret: 'int', params: [{ type: 'int', name: 'x' }] },
  { name: 'f5', ret: 'int', params: [{ type: 'int', name: 'y' }] },
  { name: 'f6', ret: 'long', params: ['long'] },
  { name: 'f7', ret: 'void', params: ['int', 'int'] },
  { name: 'f8', ret: 'int', params: ['unsigned int'] },
  { name: 'struct_arg_1', ret: 'int', params: ['struct S2', 'int', 'int'] },
  { name: 'struct_arg_2', ret: 'int', params: ['struct S1', 'int', 'int', 'int', 'struct S2'] },
  { name: 'vptr_a', ret: 'int', params: [{ type: 'void *', name: 'a' }] },
  { name: 'vptr_b', ret: 'int', params: [{ type: 'void *', name: 'b' }] },
  { name: 'vptr_c', ret: 'int', params: [{ type: 'void *', name: 'a' }] },
  { name: 'file_a', ret: 'int', params: [{ type: 'struct file *', name: 'f' }] },
  { name: 'file_b', ret: 'int', params: [{ type: 'const struct file *', name: 'g' }] },
  { name: 'inode_a', ret: 'int', params: [{ type: 'struct inode *', name: 'i' }] },
  { name: 'union_file', ret: 'int', params: [{ type: 'union file *', name: 'u' }] },
  { name: 'bool_fn', ret: 'int', params: ['_Bool'] },
  { name: 'char_fn', ret: 'int', params: ['char'] },
  { name: 'u32_fn', ret: 'int', params: ['u32'] },
  { name: 'enum3_fn', ret: 'int', params: ['enum E3'] },
  { name: 'enum4_fn', ret: 'int', params: ['enum E4'] },
  { name: 'ret_long_3', ret: 'long', params: ['u64', 'u64', 'u64'] },
  { name: 'ret_int_3', ret: 'int', params: ['u64', 'u64', 'u64'] },
  { name: 'ret_int_2', ret: 'int', params: ['u64', 'u64'] },
  { name: 'ret_ptr', ret: 'struct file *', params: ['int'] },
  { name: 'bpf_modify_return_test', ret: 'int', params: ['int', 'int *'], errorInjectable: true },
  { name: 'security_file_open', ret: 'int', params: ['struct file *'] },
  { name: 'fmodret_set_fn', ret: 'int', params: ['int'], fmodret: true },
  { name: 'fmodret_sleep_fn', ret: 'int', params: ['int'], fmodretSleepable: true },
  { name: 'err_inj_a', ret: 'int', params: ['int'], errorInjectable: true },
  { name: 'err_inj_b', ret: 'int', params: ['int', 'int'], errorInjectable: true },
  {
    name: 'err_inj_nonsleep',
    ret: 'int',
    params: ['int'],
    errorInjectable: true,
    nonSleepable: true,
  },
  { name: 'migrate_disable', ret: 'void', params: [], denyListed: true },
  { name: 'do_exit', ret: 'void', params: ['long'], noreturn: true },
  { name: 'no_addr', ret: 'int', params: ['int'], address: false },
  {
    name: 'too_many',
    ret: 'int',
    params: Array<string>(13).fill('int'),
  },
  { name: 'twelve', ret: 'int', params: Array<string>(12).fill('int') },
  { name: 'big_struct', ret: 'int', params: ['struct S24'] },
  { name: 'zero_struct', ret: 'int', params: ['struct S0'] },
  { name: 'var_fn', ret: 'int', params: ['const char *', '...'] },
  { name: 'struct_ret', ret: 'struct S2', params: ['int'] },
];

export const fixtureSpec = (
  profile: KernelProfile,
  limits?: Partial<KernelLimits>,
  extra: readonly FunctionDecl[] = [],
): KernelSpec => ({
  profile,
  ...(limits !== undefined ? { limits } : {}),
  types: [
    { kind: 'struct', name: 'S0', size: 0, members: 0 },
    { kind: 'struct', name: 'S1', size: 4, members: 1 },
    { kind: 'struct', name: 'S2', size: 16, members: 2 },
    { kind: 'struct', name: 'S24', size: 24, members: 3 },
    { kind: 'struct', name: 'file', size: 64, members: 4 },
    { kind: 'struct', name: 'inode', size: 64, members: 4 },
    { kind: 'enum', name: 'E3', size: 4, values: 3 },
    { kind: 'enum', name: 'E4', size: 4, values: 4 },
  ],
  objects: [
    { name: 'vmlinux', kind: 'vmlinux', functions: [...VMLINUX_FUNCTIONS, ...extra] },
    {
      name: 'M',
      kind: 'module',
      functions: [
        { name: 'm1', ret: 'int', params: ['int'] },
        { name: 'm2', ret: 'int', params: ['int', 'u64'] },
        { name: 'm_err', ret: 'int', params: ['int'], errorInjectable: true },
        { name: 'shared_name', ret: 'int', params: ['int'] },
      ],
    },
    {
      name: 'N',
      kind: 'module',
      functions: [
        { name: 'n1', ret: 'int', params: ['int'] },
        { name: 'shared_name', ret: 'int', params: ['int'] },
      ],
    },
    {
      name: 'L',
      kind: 'module',
      loaded: false,
      functions: [{ name: 'l1', ret: 'int', params: ['int'] }],
    },
    { name: 'ubtf', kind: 'user', functions: [{ name: 'u1', ret: 'int', params: ['int'] }] },
  ],
});

export const kernelOf = (spec: KernelSpec): KernelState => {
  const r = buildKernel(spec);
  if (!r.ok) throw new Error(`fixture spec rejected: ${JSON.stringify(r.error)}`);
  return r.value;
};

/** `name`, `module:name` or `{object, btfId}` → a TargetRef, as the scenario runner splits them. */
export const t = (name: string): TargetRef => {
  const i = name.indexOf(':');
  return i < 0 ? { name } : { object: name.slice(0, i), name: name.slice(i + 1) };
};
export const ts = (...names: string[]): TargetRef[] => names.map(t);

export const load = (
  name: string,
  attach: string,
  origin?: string,
  more: Partial<Omit<Extract<KernelOp, { op: 'prog_load' }>, 'op' | 'name' | 'attach'>> = {},
): KernelOp => ({
  op: 'prog_load',
  name,
  attach,
  ...(origin !== undefined ? { origin: t(origin) } : {}),
  ...more,
});

export const link = (
  prog: number,
  targets: TargetRef[],
  cookies?: bigint[],
  count?: number,
): KernelOp => ({
  op: 'link_create',
  prog,
  targets,
  ...(cookies !== undefined ? { cookies } : {}),
  ...(count !== undefined ? { count } : {}),
});

/** Applies ops that must all succeed and keep the invariants; returns the final state and last value. */
export const run = (
  state: KernelState,
  ...ops: KernelOp[]
): { state: KernelState; value: OpValue | null } => {
  let s = state;
  let value: OpValue | null = null;
  for (const op of ops) {
    const o = applyOp(s, op);
    if (!o.ok) throw new Error(`setup op ${op.op} failed: ${o.errno} ${o.reason}`);
    expect(checkInvariants(o.state)).toEqual([]);
    s = o.state;
    value = o.value;
  }
  return { state: s, value };
};

export interface When {
  /** the op succeeds; returns its value and the new state (invariants checked) */
  thenOk(): { state: KernelState; value: OpValue | null };
  /** the op fails with `errno` and the state is the very input state; returns the reason */
  thenRejects(errno: Errno): string;
  /** as `thenRejects`; returns the request target the refusal names (undefined: none) */
  thenRejectsTarget(errno: Errno): FailedTarget | undefined;
}

/** Given a kernel after `ops`, when `op` is applied, then … */
export const given = (spec: KernelSpec | KernelState, ...ops: KernelOp[]) => {
  const base = 'templates' in spec ? spec : kernelOf(spec);
  const state = run(base, ...ops).state;
  return {
    state,
    when: (op: KernelOp): When => {
      const before = dumpState(state);
      const o = applyOp(state, op);
      const rejects = (errno: Errno) => {
        if (o.ok) throw new Error(`expected ${errno}, but the op succeeded`);
        expect({ errno: o.errno, reason: o.reason }).toEqual({ errno, reason: o.reason });
        expect(o.state).toBe(state);
        expect(dumpState(o.state)).toEqual(before);
        return o;
      };
      return {
        thenOk: () => {
          if (!o.ok) throw new Error(`expected ok, got ${o.errno}: ${o.reason}`);
          expect(checkInvariants(o.state)).toEqual([]);
          return { state: o.state, value: o.value };
        },
        thenRejects: (errno: Errno) => rejects(errno).reason,
        thenRejectsTarget: (errno: Errno) => rejects(errno).failedTarget,
      };
    },
  };
};

/** A link_create value's connections. */
export const connectionsOf = (value: OpValue | null) => {
  if (value === null || !('connections' in value)) throw new Error('not a link_create value');
  return value.connections;
};

export const trampolineOf = (state: KernelState, fn: string) =>
  dumpState(state).trampolines.find((x) => x.function === fn);

export const moduleRefcount = (state: KernelState, name: string): number | undefined =>
  dumpState(state).modules.find((m) => m.name === name)?.refcount;

/** The internal trampoline record (refcount included) by function name and object. */
export const trampRecord = (state: KernelState, fn: string) =>
  [...state.tramps.values()].find((x) => x.fname === fn);
