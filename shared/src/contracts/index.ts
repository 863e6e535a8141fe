export {
  FLEET_EVENT_SCHEMAS,
  RECORDED_ENVELOPE_SCHEMA,
  CURRENT_SCHEMA_VERSION,
  isFleetEventType,
} from './fleet-events.contract.js';
export { UPCASTERS } from './upcasters.js';
export type { FunctionsOfPolicy, ModuleEffect } from './module-effect.contract.js';
export type { EventDecodeFailure, EncodedFleetEvent } from './fleet-event-codec.js';
export {
  EventDecodeError,
  decodeFleetEvent,
  decodeFleetEventOrThrow,
  describeDecodeFailure,
  encodeFleetEvent,
  formatPath,
} from './fleet-event-codec.js';
export {
  FACTS_CONSUMER,
  FleetSubjects,
  isSubjectSafeNodeId,
  nodeIdOfSubject,
} from './fleet-subjects.js';
export * from './fleet-messages.contract.js';
export { TRACING_POLICY_SCHEMA, parsePolicy, parsePolicyOrProblems } from './policy.contract.js';
export type {
  KernelSpecDeclarations,
  KernelSpecDocument,
  KernelSpecOptions,
} from './kernel-spec.contract.js';
export {
  declarationProblems,
  describeValue,
  kernelSpecDocumentSchema,
  parseKernelSpecDocument,
} from './kernel-spec.contract.js';
export type { AssignmentSignature } from './assignment-signature.js';
export {
  ASSIGNMENT_SIGNATURE_ALG,
  ASSIGNMENT_SIGNATURE_DOMAIN,
  assignmentSigningBytes,
  canonicalJson,
  compareAssignmentOrder,
} from './assignment-signature.js';
