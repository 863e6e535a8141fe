/**
 * Validation of a `TracingPolicy` (docs/fleet-protocol.md, "Policy"), every problem with its path.
 * Kept in one file over ~400 lines: one hand-written validator per section of the policy, in the
 * order of the document, so that the messages and their paths read as the policy does.
 */
import { parseFunctionPattern } from '../../btf/resolve-pattern.js';
import type { Result } from '../../lib/result.js';
import { err, ok } from '../../lib/result.js';
import {
  ATTACH_STRATEGIES,
  DEFAULT_ROLLOUT,
  POLICY_API_VERSION,
  POLICY_ATTACH_TYPES,
  POLICY_KIND,
} from './policy.types.js';
import type {
  AttachStrategy,
  NodeSelector,
  Policy,
  PolicyAttach,
  PolicyProblem,
  PolicyProgram,
  PolicySpec,
  PolicyTarget,
  ProgramRead,
  RolloutSpec,
  WaveSize,
} from './policy.types.js';

/** `metadata.name`: a DNS label, as Kubernetes object names. */
export const POLICY_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const POLICY_NAME_MAX = 63;
/** bpf_obj_name_cpy: BPF_OBJ_NAME_LEN 16 (15 characters + NUL), alphanumerics, '_' and '.'. */
export const PROGRAM_NAME = /^[A-Za-z0-9_.]{1,15}$/;
/** A program object's content digest: `sha256:` and 64 lowercase hex digits. */
export const PROGRAM_OBJECT_DIGEST = /^sha256:[0-9a-f]{64}$/;
/** MAX_BPF_FUNC_ARGS: 12 argument slots (kernel-multilink-spec.md §2.1.4). */
export const MAX_FUNC_ARGS = 12;
const U64_MAX = (1n << 64n) - 1n;
export const ORIGIN = /^([A-Za-z0-9_.-]+:)?[A-Za-z_][A-Za-z0-9_.]*$/;
export const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
export const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PERCENT = /^([1-9][0-9]*)%$/;
/** Most targets in one policy (every one is resolved against every BTF object of every node). */
export const MAX_TARGETS = 4096;
/** Most labels in `spec.nodeSelector.matchLabels` and in `metadata.labels`. */
export const MAX_LABELS = 64;
/** Most annotations in `metadata.annotations`, and the longest annotation value. */
export const MAX_ANNOTATIONS = 64;
export const MAX_ANNOTATION_VALUE = 4096;
/** Label keys as Kubernetes: a name of at most 63 characters after an optional DNS prefix of 253. */
export const LABEL_NAME_MAX = 63;
export const LABEL_PREFIX_MAX = 253;
/** Label values as Kubernetes: at most 63 characters. */
export const LABEL_VALUE_MAX = 63;
/** Most rollout waves. */
export const MAX_WAVES = 100;
export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

type Obj = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const show = (value: unknown): string => {
  if (value === undefined) return 'nothing';
  if (typeof value === 'bigint') return `${value}n`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

const describeType = (value: unknown): string =>
  value === undefined
    ? 'nothing'
    : value === null
      ? 'null'
      : Array.isArray(value)
        ? 'an array'
        : `a ${typeof value}`;

/** Collects problems while walking the input; each check returns the cleaned value or undefined. */
interface Problems {
  readonly list: readonly PolicyProblem[];
  add(path: string, message: string): undefined;
  unknownKeys(path: string, value: Obj, known: readonly string[]): void;
}

const collectProblems = (): Problems => {
  const list: PolicyProblem[] = [];
  const add = (path: string, message: string): undefined => {
    list.push({ path, message });
    return undefined;
  };
  return {
    list,
    add,
    unknownKeys: (path, value, known) => {
      for (const key of Object.keys(value))
        if (!known.includes(key))
          add(join(path, key), `unknown field (expected one of: ${known.join(', ')})`);
    },
  };
};

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

const oneOf = <T extends string>(
  p: Problems,
  path: string,
  value: unknown,
  allowed: readonly T[],
): T | undefined =>
  typeof value === 'string' && (allowed as readonly string[]).includes(value)
    ? (value as T)
    : p.add(path, `must be one of ${allowed.join(', ')} (got ${show(value)})`);

/** A u64 given as a non-negative integer number (exact) or a decimal string. */
const u64 = (p: Problems, path: string, value: unknown): string | undefined => {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0)
      return p.add(path, `must be an unsigned 64-bit integer (got ${show(value)})`);
    if (!Number.isSafeInteger(value))
      return p.add(
        path,
        `${show(value)} is above 2^53 and cannot be exact as a number: write it as a decimal string`,
      );
    return String(value);
  }
  if (typeof value === 'string' && /^(0|[1-9][0-9]*)$/.test(value)) {
    if (BigInt(value) > U64_MAX) return p.add(path, `${value} is above 2^64-1`);
    return value;
  }
  return p.add(
    path,
    `must be an unsigned 64-bit integer or its decimal string (got ${show(value)})`,
  );
};

const validateProgram = (p: Problems, path: string, value: unknown): PolicyProgram | undefined => {
  if (!isObject(value)) return p.add(path, `must be an object (got ${describeType(value)})`);
  p.unknownKeys(path, value, [
    'name',
    'object',
    'attach',
    'sleepable',
    'origin',
    'reads',
    'returns',
  ]);
  const name =
    typeof value.name === 'string' && PROGRAM_NAME.test(value.name)
      ? value.name
      : p.add(
          join(path, 'name'),
          `must be a BPF program name: 1-15 characters of [A-Za-z0-9_.] (got ${show(value.name)})`,
        );
  let object: string | undefined;
  if (value.object !== undefined) {
    if (typeof value.object === 'string' && PROGRAM_OBJECT_DIGEST.test(value.object))
      object = value.object;
    else
      p.add(
        join(path, 'object'),
        `must be a program object digest, sha256: and 64 lowercase hex digits as tramway program push prints it (got ${show(value.object)})`,
      );
  }
  const attach = oneOf<PolicyAttach>(p, join(path, 'attach'), value.attach, POLICY_ATTACH_TYPES);
  let sleepable = false;
  if (value.sleepable !== undefined) {
    if (typeof value.sleepable === 'boolean') sleepable = value.sleepable;
    else p.add(join(path, 'sleepable'), `must be true or false (got ${show(value.sleepable)})`);
  }
  let origin: string | undefined;
  if (value.origin !== undefined) {
    if (typeof value.origin === 'string' && ORIGIN.test(value.origin)) origin = value.origin;
    else
      p.add(
        join(path, 'origin'),
        `must be a function name, optionally module:name, without wildcards (got ${show(value.origin)})`,
      );
  }
  const reads: ProgramRead[] = [];
  if (value.reads !== undefined) {
    if (!Array.isArray(value.reads)) {
      p.add(join(path, 'reads'), `must be a list (got ${describeType(value.reads)})`);
    } else if (value.reads.length > MAX_FUNC_ARGS + 1) {
      p.add(
        join(path, 'reads'),
        `lists ${value.reads.length} entries, more than the ${MAX_FUNC_ARGS + 1} there are (argument indices 0-${MAX_FUNC_ARGS - 1} and 'ret')`,
      );
    } else {
      (value.reads as readonly unknown[]).forEach((read, i) => {
        const at = `${join(path, 'reads')}[${i}]`;
        if (read === 'ret') {
          if (attach === 'fentry')
            p.add(at, "'ret' (the return value) is readable only by fexit and fmod_ret programs");
          else if (reads.includes('ret')) p.add(at, "duplicate 'ret'");
          else reads.push('ret');
        } else if (typeof read === 'number' && Number.isInteger(read)) {
          if (read < 0 || read >= MAX_FUNC_ARGS)
            p.add(at, `argument index ${read} is out of range 0-${MAX_FUNC_ARGS - 1}`);
          else if (reads.includes(read)) p.add(at, `duplicate argument index ${read}`);
          else reads.push(read);
        } else
          p.add(
            at,
            `must be an argument index 0-${MAX_FUNC_ARGS - 1} or 'ret' (got ${show(read)})`,
          );
      });
    }
  }
  let returns: number | undefined;
  if (value.returns !== undefined) {
    if (
      typeof value.returns !== 'number' ||
      !Number.isInteger(value.returns) ||
      value.returns < INT32_MIN ||
      value.returns > INT32_MAX
    )
      p.add(join(path, 'returns'), `must be a 32-bit integer (got ${show(value.returns)})`);
    else if (attach !== undefined && attach !== 'fmod_ret')
      p.add(join(path, 'returns'), `applies to fmod_ret programs only (attach is ${attach})`);
    else returns = value.returns;
  }
  if (name === undefined || attach === undefined) return undefined;
  if (value.object !== undefined && object === undefined) return undefined;
  return {
    name,
    ...(object === undefined ? {} : { object }),
    attach,
    sleepable,
    ...(origin === undefined ? {} : { origin }),
    reads,
    ...(returns === undefined ? {} : { returns }),
  };
};

const validateTargets = (
  p: Problems,
  path: string,
  value: unknown,
): readonly PolicyTarget[] | undefined => {
  if (!Array.isArray(value))
    return p.add(path, `must be a list of targets (got ${describeType(value)})`);
  if (value.length === 0) return p.add(path, 'must list at least one target');
  if (value.length > MAX_TARGETS)
    return p.add(path, `lists ${value.length} targets, more than ${MAX_TARGETS}`);
  const targets: PolicyTarget[] = [];
  const seen = new Map<string, number>();
  let valid = true;
  (value as readonly unknown[]).forEach((target, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(target)) {
      valid = false;
      p.add(at, `must be an object with a pattern (got ${describeType(target)})`);
      return;
    }
    p.unknownKeys(at, target, ['pattern', 'cookie']);
    let pattern: string | undefined;
    if (typeof target.pattern !== 'string' || target.pattern === '') {
      p.add(join(at, 'pattern'), `must be a non-empty glob (got ${show(target.pattern)})`);
    } else {
      const parsed = parseFunctionPattern(target.pattern);
      if (!parsed.ok) p.add(join(at, 'pattern'), parsed.error);
      else if (seen.has(target.pattern))
        p.add(join(at, 'pattern'), `duplicate of ${path}[${seen.get(target.pattern)}]`);
      else {
        seen.set(target.pattern, i);
        pattern = target.pattern;
      }
    }
    const cookie =
      target.cookie === undefined ? undefined : u64(p, join(at, 'cookie'), target.cookie);
    if (pattern === undefined || (target.cookie !== undefined && cookie === undefined)) {
      valid = false;
      return;
    }
    targets.push(cookie === undefined ? { pattern } : { pattern, cookie });
  });
  return valid ? targets : undefined;
};

const validateLabelKey = (p: Problems, path: string, key: string): boolean => {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (name.length > LABEL_NAME_MAX || !LABEL_NAME.test(name))
    return (
      p.add(
        path,
        `label name ${show(name)} must be 1-63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric`,
      ) ?? false
    );
  if (prefix !== undefined && (prefix.length > LABEL_PREFIX_MAX || !LABEL_PREFIX.test(prefix)))
    return p.add(path, `label prefix ${show(prefix)} must be a DNS subdomain`) ?? false;
  return true;
};

const validateSelector = (p: Problems, path: string, value: unknown): NodeSelector | undefined => {
  if (!isObject(value)) return p.add(path, `must be an object (got ${describeType(value)})`);
  p.unknownKeys(path, value, ['matchLabels']);
  const at = join(path, 'matchLabels');
  if (value.matchLabels === undefined) return { matchLabels: {} };
  const matchLabels = validateLabels(p, at, value.matchLabels);
  return matchLabels === undefined ? undefined : { matchLabels };
};

/** A map of label keys to label values, at most MAX_LABELS of them. */
const validateLabels = (
  p: Problems,
  path: string,
  value: unknown,
): Record<string, string> | undefined => {
  if (!isObject(value))
    return p.add(path, `must be a map of label to value (got ${describeType(value)})`);
  const entries = Object.entries(value);
  if (entries.length > MAX_LABELS)
    return p.add(path, `has ${entries.length} labels, more than ${MAX_LABELS}`);
  const labels: Record<string, string> = {};
  let valid = true;
  for (const [key, label] of entries) {
    const keyPath = `${path}.${key}`;
    if (!validateLabelKey(p, keyPath, key)) valid = false;
    if (
      typeof label !== 'string' ||
      (label !== '' && (label.length > LABEL_VALUE_MAX || !LABEL_NAME.test(label)))
    ) {
      p.add(
        keyPath,
        `label value must be a string of at most ${LABEL_VALUE_MAX} characters of [A-Za-z0-9-_.] (got ${show(label)})`,
      );
      valid = false;
    } else labels[key] = label;
  }
  return valid ? labels : undefined;
};

/** `metadata.annotations`: label keys to strings, bounded in number and size (then dropped). */
const validateAnnotations = (p: Problems, path: string, value: unknown): void => {
  if (!isObject(value)) {
    p.add(path, `must be a map of key to string (got ${describeType(value)})`);
    return;
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_ANNOTATIONS) {
    p.add(path, `has ${entries.length} annotations, more than ${MAX_ANNOTATIONS}`);
    return;
  }
  for (const [key, text] of entries) {
    const keyPath = `${path}.${key}`;
    validateLabelKey(p, keyPath, key);
    if (typeof text !== 'string' || text.length > MAX_ANNOTATION_VALUE)
      p.add(
        keyPath,
        `annotation value must be a string of at most ${MAX_ANNOTATION_VALUE} characters (got ${typeof text === 'string' ? `${text.length} characters` : show(text)})`,
      );
  }
};

/** Parses a wave size; `undefined` after adding a problem. */
const waveSize = (p: Problems, path: string, value: unknown): WaveSize | undefined => {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value > 0) return value;
    return p.add(path, `a node count must be a positive integer (got ${show(value)})`);
  }
  if (typeof value === 'string') {
    const m = PERCENT.exec(value);
    if (m !== null && Number(m[1]) <= 100) return value as WaveSize;
  }
  return p.add(
    path,
    `must be a positive node count or a percentage "1%".."100%" (got ${show(value)})`,
  );
};

const validateRollout = (p: Problems, path: string, value: unknown): RolloutSpec | undefined => {
  if (!isObject(value)) return p.add(path, `must be an object (got ${describeType(value)})`);
  p.unknownKeys(path, value, ['waves', 'maxFailureRatio', 'pauseSeconds']);
  let waves: readonly WaveSize[] | undefined = DEFAULT_ROLLOUT.waves;
  if (value.waves !== undefined) {
    const at = join(path, 'waves');
    if (!Array.isArray(value.waves) || value.waves.length === 0) {
      waves = p.add(at, `must be a non-empty list of wave sizes (got ${show(value.waves)})`);
    } else if (value.waves.length > MAX_WAVES) {
      waves = p.add(at, `lists ${value.waves.length} waves, more than ${MAX_WAVES}`);
    } else {
      const sizes = (value.waves as readonly unknown[]).map((w, i) =>
        waveSize(p, `${at}[${i}]`, w),
      );
      if (sizes.every((s) => s !== undefined)) {
        waves = sizes;
        // cumulative sizes: counts against counts, percentages against percentages (a mixed
        // pair can only be compared once the number of selected nodes is known: expandWaves)
        let lastCount = 0;
        let lastPercent = 0;
        sizes.forEach((s, i) => {
          if (typeof s === 'number') {
            if (s < lastCount)
              waves = p.add(
                `${at}[${i}]`,
                `${s} is smaller than an earlier wave (${lastCount}): waves are cumulative and must not decrease`,
              );
            lastCount = Math.max(lastCount, s);
          } else {
            const pct = Number(s.slice(0, -1));
            if (pct < lastPercent)
              waves = p.add(
                `${at}[${i}]`,
                `${s} is smaller than an earlier wave (${lastPercent}%): waves are cumulative and must not decrease`,
              );
            lastPercent = Math.max(lastPercent, pct);
          }
        });
        const last = sizes[sizes.length - 1];
        if (last !== '100%')
          waves = p.add(
            `${at}[${sizes.length - 1}]`,
            `the last wave must be "100%" so that every selected node is covered (got ${show(last)}); add "100%" at the end`,
          );
      } else waves = undefined;
    }
  }
  let maxFailureRatio = DEFAULT_ROLLOUT.maxFailureRatio;
  if (value.maxFailureRatio !== undefined) {
    if (
      typeof value.maxFailureRatio === 'number' &&
      value.maxFailureRatio >= 0 &&
      value.maxFailureRatio <= 1
    )
      maxFailureRatio = value.maxFailureRatio;
    else
      p.add(
        join(path, 'maxFailureRatio'),
        `must be a number in [0, 1] (got ${show(value.maxFailureRatio)})`,
      );
  }
  let pauseSeconds = DEFAULT_ROLLOUT.pauseSeconds;
  if (value.pauseSeconds !== undefined) {
    if (
      typeof value.pauseSeconds === 'number' &&
      Number.isFinite(value.pauseSeconds) &&
      value.pauseSeconds >= 0
    )
      pauseSeconds = value.pauseSeconds;
    else
      p.add(
        join(path, 'pauseSeconds'),
        `must be a number of seconds >= 0 (got ${show(value.pauseSeconds)})`,
      );
  }
  return waves === undefined ? undefined : { waves, maxFailureRatio, pauseSeconds };
};

const specOf = (p: Problems, path: string, value: unknown): PolicySpec | undefined => {
  if (!isObject(value)) return p.add(path, `must be an object (got ${describeType(value)})`);
  p.unknownKeys(path, value, ['program', 'targets', 'nodeSelector', 'strategy', 'rollout']);
  const program = validateProgram(p, join(path, 'program'), value.program);
  const targets = validateTargets(p, join(path, 'targets'), value.targets);
  const nodeSelector =
    value.nodeSelector === undefined
      ? undefined
      : validateSelector(p, join(path, 'nodeSelector'), value.nodeSelector);
  const strategy: AttachStrategy | undefined =
    value.strategy === undefined
      ? 'auto'
      : oneOf(p, join(path, 'strategy'), value.strategy, ATTACH_STRATEGIES);
  const rollout =
    value.rollout === undefined
      ? DEFAULT_ROLLOUT
      : validateRollout(p, join(path, 'rollout'), value.rollout);
  if (
    program === undefined ||
    targets === undefined ||
    strategy === undefined ||
    rollout === undefined
  )
    return undefined;
  if (value.nodeSelector !== undefined && nodeSelector === undefined) return undefined;
  return {
    program,
    targets,
    ...(nodeSelector === undefined ? {} : { nodeSelector }),
    strategy,
    rollout,
  };
};

/**
 * Validates a policy spec alone (what an `Assignment` carries). Lists every problem, each with
 * its path under `path` (default `spec`).
 */
export const validatePolicySpec = (
  input: unknown,
  path = 'spec',
): Result<PolicySpec, readonly PolicyProblem[]> => {
  const p = collectProblems();
  const spec = specOf(p, path, input);
  return spec === undefined || p.list.length > 0 ? err(p.list) : ok(spec);
};

/**
 * Validates a decoded policy document (YAML or JSON, already parsed) into a `Policy`, listing
 * every problem with its path (`spec.targets[1].pattern: ...`), defaults applied (sleepable
 * false, reads [], strategy auto, rollout one wave of "100%" with maxFailureRatio 0).
 * Validating the result again gives the same value.
 */
export const validatePolicy = (input: unknown): Result<Policy, readonly PolicyProblem[]> => {
  const p = collectProblems();
  if (!isObject(input)) {
    p.add(
      '(policy)',
      `must be a mapping with apiVersion, kind, metadata and spec (got ${describeType(input)})`,
    );
    return err(p.list);
  }
  p.unknownKeys('', input, ['apiVersion', 'kind', 'metadata', 'spec']);
  if (input.apiVersion !== POLICY_API_VERSION)
    p.add('apiVersion', `must be "${POLICY_API_VERSION}" (got ${show(input.apiVersion)})`);
  if (input.kind !== POLICY_KIND)
    p.add('kind', `must be "${POLICY_KIND}" (got ${show(input.kind)})`);
  let name: string | undefined;
  if (!isObject(input.metadata))
    p.add('metadata', `must be an object with a name (got ${describeType(input.metadata)})`);
  else {
    p.unknownKeys('metadata', input.metadata, ['name', 'labels', 'annotations']);
    const n = input.metadata.name;
    if (typeof n !== 'string' || n.length > POLICY_NAME_MAX || !POLICY_NAME.test(n))
      p.add(
        'metadata.name',
        `must be 1-63 characters of [a-z0-9-], starting and ending alphanumeric (got ${show(n)})`,
      );
    else name = n;
    if (input.metadata.labels !== undefined)
      validateLabels(p, 'metadata.labels', input.metadata.labels);
    if (input.metadata.annotations !== undefined)
      validateAnnotations(p, 'metadata.annotations', input.metadata.annotations);
  }
  const spec = specOf(p, 'spec', input.spec);
  if (p.list.length > 0 || name === undefined || spec === undefined) return err(p.list);
  return ok({ apiVersion: POLICY_API_VERSION, kind: POLICY_KIND, metadata: { name }, spec });
};

/** `path: message` lines, for CLI and HTTP error details. */
export const formatPolicyProblems = (problems: readonly PolicyProblem[]): readonly string[] =>
  problems.map((pr) => `${pr.path}: ${pr.message}`);
