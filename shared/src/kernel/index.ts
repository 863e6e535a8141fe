export type * from './btf.js';
export type {
  CheckResult,
  ConnectionValue,
  Errno,
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
export { BtfKind } from './btf.js';
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
export { parseTypeString } from './btf-build.js';
export type { ParsedTypeString } from './btf-build.js';
export { applyOp, checkTarget } from './apply-op.js';
export type { OpOutcome, ProgLike, ProgDescription } from './apply-op.js';
export { checkInvariants, dumpState, progTag } from './introspection.js';
