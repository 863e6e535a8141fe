/**
 * Validates the untrusted content of a scenario file against kernel-scenarios.md and turns it
 * into a typed `Scenario`. It collects every problem instead of stopping at the first one, so
 * `tramway kernel run` can list them all. What the kernel itself would refuse (an attach type the
 * profile lacks, an unknown function name, a cookie count the kernel rejects) is NOT checked here:
 * those are step results, not malformed files.
 *
 * Kept in one file over ~400 lines: each scenario step's checks, one function per operation in
 * the order of kernel-scenarios.md, sharing the declared names of the document being checked.
 */
import { z } from 'zod';
import type { KernelSpecDeclarations } from '@tramway/shared/contracts';
import { describeValue, parseKernelSpecDocument } from '@tramway/shared/contracts';
import type { Result } from '@tramway/shared/lib';
import { ERRNO_ALIASES, err, isErrno, ok, parseAttachName } from '@tramway/shared/lib';
import type {
  FieldPath,
  Scenario,
  ScenarioProblem,
  ScenarioStep,
  ScenarioTarget,
} from './scenario.types.js';

const U32_MAX = 2 ** 32 - 1;
const U64_MAX = (1n << 64n) - 1n;
const S64_MIN = -(1n << 63n);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STEP_ID = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const OBJECT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** An attach name a scenario may write: fsession only as fsession.multi (kernel-scenarios.md). */
const isScenarioAttach = (text: string): boolean => {
  const a = parseAttachName(text);
  return a !== null && (a.multi || a.kind !== 'fsession');
};
/** Fields each op takes besides `op` and `expect` (kernel-scenarios.md, "Operations"). */
const OP_FIELDS = {
  prog_load: {
    required: ['id', 'attach'],
    optional: ['origin', 'object', 'reads', 'ctxReads', 'returns'],
  },
  prog_release: { required: ['prog'], optional: [] },
  link_create: { required: ['id', 'prog', 'targets'], optional: ['cookies', 'count'] },
  link_release: { required: ['link'], optional: [] },
  link_pin: { required: ['link'], optional: [] },
  link_unpin: { required: ['link'], optional: [] },
  link_detach: { required: ['link'], optional: [] },
  link_update: { required: ['link', 'prog'], optional: [] },
  module_load: { required: ['module'], optional: [] },
  module_unload: { required: ['module'], optional: [] },
  module_set_state: { required: ['module', 'state'], optional: [] },
  trigger: { required: ['function'], optional: ['args', 'returns'] },
  fdinfo: { required: ['link'], optional: [] },
  state: { required: [], optional: [] },
} as const satisfies Record<
  ScenarioStep['op'],
  { required: readonly string[]; optional: readonly string[] }
>;
type StepOp = keyof typeof OP_FIELDS;

type Mapping = Readonly<Record<string, unknown>>;

const isMapping = (value: unknown): value is Mapping =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const show = describeValue;

/** Collects problems while walking the document; one instance per validation. */
const createChecker = () => {
  const problems: ScenarioProblem[] = [];
  const report = (path: FieldPath, message: string): undefined => {
    problems.push({ path, message });
    return undefined;
  };

  const mapping = (
    value: unknown,
    path: FieldPath,
    required: readonly string[],
    optional: readonly string[],
  ): Mapping | undefined => {
    if (!isMapping(value)) return report(path, `must be a mapping, got ${show(value)}`);
    const allowed = [...required, ...optional];
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        report([...path, key], `unknown field (allowed here: ${allowed.join(', ') || 'none'})`);
      }
    }
    for (const key of required) {
      if (value[key] === undefined) report([...path, key], 'required field is missing');
    }
    return value;
  };

  const list = (value: unknown, path: FieldPath): readonly unknown[] | undefined =>
    Array.isArray(value) ? value : report(path, `must be a list, got ${show(value)}`);

  const string = (value: unknown, path: FieldPath): string | undefined =>
    typeof value === 'string' ? value : report(path, `must be a string, got ${show(value)}`);

  const matching = (
    value: unknown,
    path: FieldPath,
    pattern: RegExp | ((text: string) => boolean),
    what: string,
  ): string | undefined => {
    const text = string(value, path);
    if (text === undefined) return undefined;
    const valid = typeof pattern === 'function' ? pattern(text) : pattern.test(text);
    return valid ? text : report(path, `'${text}' is not a valid ${what}`);
  };

  const oneOf = <T extends string>(
    value: unknown,
    path: FieldPath,
    choices: readonly T[],
  ): T | undefined => {
    const text = string(value, path);
    if (text === undefined) return undefined;
    return (choices as readonly string[]).includes(text)
      ? (text as T)
      : report(path, `must be one of ${choices.join(', ')}, got '${text}'`);
  };

  const boolean = (value: unknown, path: FieldPath): boolean | undefined =>
    typeof value === 'boolean' ? value : report(path, `must be true or false, got ${show(value)}`);

  const bigInteger = (
    value: unknown,
    path: FieldPath,
    min: bigint,
    max: bigint,
  ): bigint | undefined => {
    let n: bigint | undefined;
    if (typeof value === 'bigint') n = value;
    else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
    else if (typeof value === 'string' && /^\s*-?(?:0x[0-9a-f]+|\d+)\s*$/i.test(value)) {
      const text = value.trim();
      n = text.startsWith('-') ? -BigInt(text.slice(1)) : BigInt(text);
    }
    if (n === undefined) return report(path, `must be an integer, got ${show(value)}`);
    if (n < min || n > max) return report(path, `must be between ${min} and ${max}, got ${n}`);
    return n;
  };

  const integer = (
    value: unknown,
    path: FieldPath,
    min: number,
    max: number,
  ): number | undefined => {
    if (typeof value === 'string') return report(path, `must be an integer, got ${show(value)}`);
    const n = bigInteger(value, path, BigInt(min), BigInt(max));
    return n === undefined ? undefined : Number(n);
  };

  return { problems, report, mapping, list, string, matching, oneOf, boolean, bigInteger, integer };
};
type Checker = ReturnType<typeof createChecker>;

/** What steps refer to: the spec's declared names, and the ids earlier steps declare. */
interface Declarations extends KernelSpecDeclarations {
  readonly ids: Map<string, { kind: 'program' | 'link'; step: number }>;
}

const validateTarget = (
  c: Checker,
  value: unknown,
  path: FieldPath,
  decls: Declarations,
): ScenarioTarget | undefined => {
  const knownObject = (name: string, at: FieldPath): boolean =>
    decls.objects.has(name) ||
    (c.report(at, `unknown object '${name}' (declare it under objects)`) ?? false);
  if (typeof value === 'string') {
    const parts = value.split(':');
    const [first, second] = parts;
    if (
      parts.length > 2 ||
      !parts.every(
        (p) => IDENTIFIER.test(p) || (p === first && parts.length === 2 && OBJECT_NAME.test(p)),
      )
    ) {
      return c.report(
        path,
        `malformed target '${value}' (expected NAME, MODULE:NAME or vmlinux:NAME)`,
      );
    }
    if (second === undefined) return { name: value };
    if (first === undefined || !knownObject(first, path)) return undefined;
    return { name: second, object: first };
  }
  if (!isMapping(value)) {
    return c.report(
      path,
      `must be a target name or a mapping { object, btfId } / { object, type }, got ${show(value)}`,
    );
  }
  const hasBtfId = value['btfId'] !== undefined;
  const hasType = value['type'] !== undefined;
  if (hasBtfId && hasType) return c.report(path, 'give either btfId or type, not both');
  if (!hasBtfId && !hasType && value['object'] !== undefined && Object.keys(value).length === 1) {
    return c.report(path, 'a target mapping needs btfId or type besides object');
  }
  const raw = c.mapping(value, path, ['object', hasType ? 'type' : 'btfId'], []);
  if (!raw) return undefined;
  const object = c.matching(raw['object'], [...path, 'object'], OBJECT_NAME, 'object name');
  const objectOk = object !== undefined && knownObject(object, [...path, 'object']);
  if (hasType) {
    const type = c.matching(raw['type'], [...path, 'type'], IDENTIFIER, 'type name');
    if (type !== undefined && !decls.types.has(type)) {
      return c.report([...path, 'type'], `unknown type '${type}' (declare it under types)`);
    }
    return objectOk && type !== undefined && object !== undefined ? { object, type } : undefined;
  }
  if (!hasBtfId) return undefined;
  const btfId = c.integer(raw['btfId'], [...path, 'btfId'], 0, U32_MAX);
  return objectOk && btfId !== undefined && object !== undefined ? { object, btfId } : undefined;
};

const validateSteps = (c: Checker, value: unknown, decls: Declarations): ScenarioStep[] => {
  const items = c.list(value, ['steps']) ?? [];
  const steps: ScenarioStep[] = [];
  items.forEach((item, index) => {
    const path = ['steps', index];
    if (!isMapping(item)) {
      c.report(path, `must be a mapping with an op, got ${show(item)}`);
      return;
    }
    if (item['op'] === undefined) {
      c.report([...path, 'op'], 'required field is missing');
      return;
    }
    const op = c.string(item['op'], [...path, 'op']);
    if (op === undefined) return;
    if (!Object.hasOwn(OP_FIELDS, op)) {
      c.report([...path, 'op'], `unknown op '${op}' (known: ${Object.keys(OP_FIELDS).join(', ')})`);
      return;
    }
    const spec = OP_FIELDS[op as StepOp];
    const before = c.problems.length;
    const raw = c.mapping(item, path, ['op', ...spec.required], ['expect', ...spec.optional]);
    if (!raw) return;
    const at = (field: string): FieldPath => [...path, field];

    let expect: string | undefined;
    if (raw['expect'] !== undefined) {
      const text = c.string(raw['expect'], at('expect'));
      if (text !== undefined) {
        const alias = ERRNO_ALIASES[text];
        if (text === 'ok' || isErrno(text)) expect = text;
        else if (alias)
          c.report(at('expect'), `use the canonical errno name ${alias}, not ${text}`);
        else
          c.report(
            at('expect'),
            `must be ok or a Linux errno name (EINVAL, E2BIG, ...), got '${text}'`,
          );
      }
    }

    const declareId = (kind: 'program' | 'link'): string | undefined => {
      if (raw['id'] === undefined) return undefined;
      const id = c.matching(raw['id'], at('id'), STEP_ID, 'id');
      if (id === undefined) return undefined;
      const first = decls.ids.get(id);
      if (first)
        return c.report(
          at('id'),
          `duplicate id '${id}' (already declared by steps[${first.step}])`,
        );
      decls.ids.set(id, { kind, step: index });
      return id;
    };
    const reference = (field: 'prog' | 'link'): string | undefined => {
      if (raw[field] === undefined) return undefined;
      const id = c.string(raw[field], at(field));
      if (id === undefined) return undefined;
      const wanted = field === 'prog' ? 'program' : 'link';
      const declared = decls.ids.get(id);
      if (!declared) {
        return c.report(
          at(field),
          `no earlier ${field === 'prog' ? 'prog_load' : 'link_create'} step declares '${id}'`,
        );
      }
      if (declared.kind !== wanted)
        return c.report(at(field), `'${id}' is a ${declared.kind}, not a ${wanted}`);
      return id;
    };
    const moduleRef = (): string | undefined => {
      const name = c.string(raw['module'], at('module'));
      if (name === undefined) return undefined;
      const declared = decls.objects.get(name);
      if (!declared)
        return c.report(at('module'), `unknown module '${name}' (declare it under objects)`);
      if (declared !== 'module')
        return c.report(at('module'), `'${name}' is not a module (it is ${declared})`);
      return name;
    };
    const optional = <T>(
      field: string,
      check: (v: unknown, p: FieldPath) => T | undefined,
    ): T | undefined => (raw[field] === undefined ? undefined : check(raw[field], at(field)));
    const listOf = <T>(
      v: unknown,
      p: FieldPath,
      check: (x: unknown, q: FieldPath) => T | undefined,
    ): T[] | undefined => {
      const xs = c.list(v, p);
      if (!xs) return undefined;
      const out: T[] = [];
      xs.forEach((x, i) => {
        const y = check(x, [...p, i]);
        if (y !== undefined) out.push(y);
      });
      return out.length === xs.length ? out : undefined;
    };
    const anyInteger = (v: unknown, p: FieldPath) => c.bigInteger(v, p, S64_MIN, U64_MAX);
    const withExpect = expect === undefined ? {} : { expect };
    const emit = (step: ScenarioStep): void => {
      if (c.problems.length === before) steps.push(step);
    };

    switch (op as StepOp) {
      case 'prog_load': {
        const id = declareId('program');
        const attach = c.matching(
          raw['attach'],
          at('attach'),
          isScenarioAttach,
          'attach type (fentry, fexit, fmod_ret, each optionally .multi then .s; fsession.multi)',
        );
        const origin = optional('origin', (v, p) => validateTarget(c, v, p, decls));
        const object = optional('object', (v, p) => {
          const name = c.string(v, p);
          if (name === undefined) return undefined;
          return decls.objects.has(name)
            ? name
            : c.report(p, `unknown object '${name}' (declare it under objects)`);
        });
        const reads = optional('reads', (v, p) =>
          listOf(v, p, (x, q) =>
            x === 'ret'
              ? ('ret' as const)
              : typeof x === 'string'
                ? c.report(q, `must be an argument index or ret, got '${x}'`)
                : c.integer(x, q, 0, 63),
          ),
        );
        const ctxReads = optional('ctxReads', (v, p) =>
          listOf(v, p, (x, q) => c.integer(x, q, 0, 0xffff)),
        );
        const returns = optional('returns', anyInteger);
        if (id === undefined || attach === undefined) return;
        emit({
          op: 'prog_load',
          id,
          attach,
          ...withExpect,
          ...(origin === undefined ? {} : { origin }),
          ...(object === undefined ? {} : { object }),
          ...(reads === undefined ? {} : { reads }),
          ...(ctxReads === undefined ? {} : { ctxReads }),
          ...(returns === undefined ? {} : { returns }),
        });
        return;
      }
      case 'link_create': {
        const prog = reference('prog');
        const id = declareId('link');
        const targets =
          raw['targets'] === undefined
            ? undefined
            : listOf(raw['targets'], at('targets'), (x, q) => validateTarget(c, x, q, decls));
        const cookies = optional('cookies', (v, p) =>
          listOf(v, p, (x, q) => c.bigInteger(x, q, 0n, U64_MAX)),
        );
        if (cookies && Array.isArray(raw['targets']) && cookies.length !== raw['targets'].length) {
          c.report(
            at('cookies'),
            `has ${cookies.length} entries but targets has ${raw['targets'].length} (one cookie per target; use count to pass a different cnt)`,
          );
        }
        const count = optional('count', (v, p) => c.integer(v, p, 0, U32_MAX));
        if (id === undefined || prog === undefined || targets === undefined) return;
        emit({
          op: 'link_create',
          id,
          prog,
          targets,
          ...withExpect,
          ...(cookies === undefined ? {} : { cookies }),
          ...(count === undefined ? {} : { count }),
        });
        return;
      }
      case 'prog_release': {
        const prog = reference('prog');
        if (prog !== undefined) emit({ op: 'prog_release', prog, ...withExpect });
        return;
      }
      case 'link_release':
      case 'link_pin':
      case 'link_unpin':
      case 'link_detach':
      case 'fdinfo': {
        const link = reference('link');
        if (link !== undefined) emit({ op: op as 'fdinfo', link, ...withExpect });
        return;
      }
      case 'link_update': {
        const link = reference('link');
        const prog = reference('prog');
        if (link !== undefined && prog !== undefined)
          emit({ op: 'link_update', link, prog, ...withExpect });
        return;
      }
      case 'module_load':
      case 'module_unload': {
        const module = moduleRef();
        if (module !== undefined) emit({ op: op as 'module_load', module, ...withExpect });
        return;
      }
      case 'module_set_state': {
        const module = moduleRef();
        const state = c.oneOf(raw['state'], at('state'), ['live', 'going'] as const);
        if (module !== undefined && state !== undefined)
          emit({ op: 'module_set_state', module, state, ...withExpect });
        return;
      }
      case 'trigger': {
        const fn =
          raw['function'] === undefined
            ? undefined
            : validateTarget(c, raw['function'], at('function'), decls);
        const args = optional('args', (v, p) => listOf(v, p, anyInteger));
        const returns = optional('returns', anyInteger);
        if (fn === undefined) return;
        emit({
          op: 'trigger',
          function: fn,
          ...withExpect,
          ...(args === undefined ? {} : { args }),
          ...(returns === undefined ? {} : { returns }),
        });
        return;
      }
      case 'state':
        emit({ op: 'state', ...withExpect });
        return;
    }
  });
  return steps;
};

/**
 * Validates a parsed scenario document (plain data from YAML or JSON, integers as bigint): the
 * kernel-spec declarations through the shared contract (`@tramway/shared/contracts`), then the
 * steps against what they declare. Returns the typed scenario, or every problem found, each
 * with the path of the field: the declarations' in document order, then the steps'.
 */
export const validateScenario = (
  document: unknown,
): Result<Scenario, readonly ScenarioProblem[]> => {
  const { result, declarations } = parseKernelSpecDocument(document, {
    leading: { name: z.string() },
    trailing: { steps: z.array(z.unknown()) },
  });
  const c = createChecker();
  const steps =
    isMapping(document) && Array.isArray(document['steps'])
      ? validateSteps(c, document['steps'], { ...declarations, ids: new Map() })
      : [];
  if (!result.ok) return err([...result.error, ...c.problems]);
  if (c.problems.length > 0) return err(c.problems);
  const { spec, extra } = result.value;
  return ok({
    name: extra.name,
    profile: spec.profile,
    ...(spec.limits === undefined ? {} : { limits: spec.limits }),
    types: spec.types ?? [],
    objects: spec.objects,
    steps,
  });
};
