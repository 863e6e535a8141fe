/**
 * The pure model of BPF tracing multi-links (kernel-multilink-spec.md §1-5, §9) in two profiles:
 * `v24` (the 2024 series, default) and `v26` (the merged kernel). A kernel is an immutable value;
 * `applyOp(state, op)` returns the next value or the untouched input with an errno; a refused
 * link_create also names the request target that caused it (`failedTarget`), as data.
 *
 * Choices where the spec leaves things open (each repeated at its code):
 * - V26 MAX_TRACING_MULTI_CNT = 1 << 20 (kprobe_multi's limit); V26 id 0 → EINVAL.
 * - V26 links take no module/BTF references of their own; the program's attach-object pin covers
 *   them. V26 attach checks FUNC, prototype, address and sleepable only (no deny/__noreturn).
 * - The load-time `__noreturn` check covers fexit/fmod_ret and their V24 multi variants.
 * - Execution order inside one list is newest first (head insertion, §3.4.5).
 * - fsession.multi: one fentry + one fexit slot per trampoline, return range [0,0], reported as
 *   kind `fsession` at entry and at exit.
 * - fdinfo fields are tab separated; V26 multi attach type numbers 59/60/61 (inferred).
 * - A BTF object that is not loaded, or a name that matches nothing, is ESRCH (libbpf side);
 *   an array shorter than `count` is EFAULT; a single (non-multi) link takes no target other
 *   than its origin (EINVAL) and at most one cookie.
 * - No operation creates freplace programs, so the freplace exclusivity rule (§3.4.1) is modelled
 *   but unreachable; BPF-program targets (§3.7) cannot be expressed by TargetRef.
 */
export type * from '../lib/btf-model.js';
export type {
  CheckResult,
  ConnectionValue,
  Errno,
  FailedTarget,
  FunctionAttrs,
  FunctionDecl,
  InvariantViolation,
  InvocationValue,
  KernelLimits,
  KernelObjectInput,
  KernelOp,
  KernelProfile,
  KernelSpec,
  LinkId,
  ObjectDecl,
  OpValue,
  ParamDecl,
  ProgId,
  SpecProblem,
  StateDump,
  TargetRef,
  TrampolineSlotDump,
  TypeDecl,
} from './kernel-types.js';
export { BtfKind } from '../lib/btf-model.js';
export type {
  Conn,
  KernelState,
  Link,
  LinkConn,
  ModuleRec,
  ObjTemplate,
  Prog,
  ProgOrigin,
  Tramp,
  TrampKey,
  TrampKind,
} from './kernel-state.js';
export type { BtfView, DistilledProto } from './btf-proto.js';
export {
  buildKernel,
  createKernel,
  defaultLimits,
  DEFAULT_MAX_TRAMP_LINKS,
  V24_MAX_MULTI_COUNT,
  V26_MAX_MULTI_COUNT,
} from './kernel-state.js';
export {
  C_BUILTIN_TYPEDEFS,
  C_INT_TYPES,
  formatTypeExpression,
  isCBuiltinType,
  parseTypeExpression,
} from './c-types.js';
export type { CIntType, TypeBase, TypeExpression } from './c-types.js';
export { applyOp, checkTarget } from './apply-op.js';
export type { OpOutcome, ProgLike, ProgDescription } from './apply-op.js';
export { checkInvariants, dumpState, progTag } from './introspection.js';
