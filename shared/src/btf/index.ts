export type { BtfByteOrder } from './btf-binary.js';
export { BTF_MAGIC } from './btf-binary.js';
export type { BtfStringTable } from './btf-strings.js';
export type { BtfParseError, BtfSpace, ParseBtfOptions, ParsedBtf } from './btf-parse.js';
export { BtfParseErrorCode, nextTypeId, parseBtf } from './btf-parse.js';
export type { ScannedBtf } from './btf-scan.js';
export { scanBtf } from './btf-scan.js';
export type { EncodeBtfOptions } from './btf-encode.js';
export { encodeBtf } from './btf-encode.js';
export { formatCType, formatFuncSignature, skipModifiers, typeAt } from './btf-c-format.js';
export type { BtfFunctionInfo } from './btf-functions.js';
export {
  describeFunction,
  indexFunctions,
  listFuncs,
  writeFunctionsJson,
} from './btf-functions.js';
export type { FeatureProbe, FeatureProbeInput, LadderStep } from './btf-feature.probe.js';
export { probeFeatures } from './btf-feature.probe.js';
export type { FunctionPattern, PatternMatch, PatternMatches } from './resolve-pattern.js';
export {
  compileGlob,
  MAX_PATTERN_LENGTH,
  MAX_PATTERN_STARS,
  matchFunctionPatterns,
  parseFunctionPattern,
} from './resolve-pattern.js';
export type {
  BpfObjectError,
  BpfObjectInfo,
  BpfObjectProgram,
  BpfSectionAttach,
} from './bpf-object.js';
export {
  BPF_OBJECT_LIMITS,
  BPF_SECTION_ATTACH,
  formatBpfObjectError,
  readBpfObject,
  sectionAttach,
} from './bpf-object.js';
