/**
 * Validates the untrusted content of a scenario file against kernel-scenarios.md and turns it
 * into a typed `Scenario`. It collects every problem instead of stopping at the first one, so
 * `tramway kernel run` can list them all. What the kernel itself would refuse (an attach type the
 * profile lacks, an unknown function name, a cookie count the kernel rejects) is NOT checked here:
 * those are step results, not malformed files.
 */
import type { Result } from '@tramway/shared/lib';
import { ERRNO_ALIASES, err, isErrno, ok } from '@tramway/shared/lib';
import type {
  FieldPath,
  FunctionDeclaration,
  ObjectDeclaration,
  ObjectKind,
  ParamDeclaration,
  Scenario,
  ScenarioLimits,
  ScenarioProblem,
  ScenarioProfile,
  ScenarioStep,
  ScenarioTarget,
  TypeDeclaration,
} from './scenario.types.js';
import type { TypeExpression } from '@tramway/shared/kernel';
import {
  C_BUILTIN_TYPEDEFS,
  formatTypeExpression,
  isCBuiltinType,
  parseTypeExpression,
} from '@tramway/shared/kernel';

const U32_MAX = 2 ** 32 - 1;
const U64_MAX = (1n << 64n) - 1n;
const S64_MIN = -(1n << 63n);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STEP_ID = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const OBJECT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ATTACH = /^(?:(?:fentry|fexit|fmod_ret)(?:\.multi)?|fsession\.multi)(?:\.s)?$/;
const FUNCTION_FLAGS = [
  'errorInjectable',
  'nonSleepable',
  'fmodret',
  'fmodretSleepable',
  'securityHook',
  'denyListed',
  'noreturn',
  'address',
] as const;

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

const show = (value: unknown): string => {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'bigint') return `${value}`;
  if (typeof value === 'number') return `${value}`;
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'boolean') return `${value}`;
  return 'a mapping';
};

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
    pattern: RegExp,
    what: string,
  ): string | undefined => {
    const text = string(value, path);
    if (text === undefined) return undefined;
    return pattern.test(text) ? text : report(path, `'${text}' is not a valid ${what}`);
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

interface Declarations {
  /** struct/union/enum tags, one namespace as in C */
  readonly tags: Map<string, { kind: 'struct' | 'union' | 'enum'; index: number }>;
  readonly typedefs: Map<string, { type: TypeExpression | undefined; index: number }>;
  readonly objects: Map<string, { kind: ObjectKind; index: number }>;
  readonly ids: Map<string, { kind: 'program' | 'link'; step: number }>;
}

const validateLimits = (c: Checker, value: unknown): ScenarioLimits | undefined => {
  const raw = c.mapping(value, ['limits'], [], ['maxTrampLinks', 'maxMultiCount']);
  if (!raw) return undefined;
  const limits: { maxTrampLinks?: number; maxMultiCount?: number } = {};
  for (const key of ['maxTrampLinks', 'maxMultiCount'] as const) {
    if (raw[key] === undefined) continue;
    const n = c.integer(raw[key], ['limits', key], 1, U32_MAX);
    if (n !== undefined) limits[key] = n;
  }
  return limits;
};

const validateTypes = (c: Checker, value: unknown, decls: Declarations): TypeDeclaration[] => {
  const items = c.list(value, ['types']) ?? [];
  const types: TypeDeclaration[] = [];
  items.forEach((item, index) => {
    const path = ['types', index];
    const kind = isMapping(item)
      ? c.oneOf(item['kind'], [...path, 'kind'], ['struct', 'union', 'enum', 'typedef'] as const)
      : undefined;
    if (isMapping(item) && item['kind'] === undefined)
      c.report([...path, 'kind'], 'required field is missing');
    const fields =
      kind === 'typedef'
        ? ['kind', 'name', 'type']
        : kind === 'enum'
          ? ['kind', 'name', 'size', 'values']
          : ['kind', 'name', 'size', 'members'];
    const raw = kind || !isMapping(item) ? c.mapping(item, path, fields, []) : undefined;
    if (!raw || !kind) return;
    const name = c.matching(raw['name'], [...path, 'name'], IDENTIFIER, 'type name');
    if (name !== undefined) {
      if (kind === 'typedef') {
        const first = decls.typedefs.get(name);
        if (first)
          c.report(
            [...path, 'name'],
            `duplicate typedef '${name}' (first declared at types[${first.index}])`,
          );
        else if (
          isCBuiltinType(name) ||
          ['struct', 'union', 'enum', 'const', 'volatile', 'unsigned', 'signed'].includes(name)
        )
          c.report([...path, 'name'], `'${name}' is a C keyword, not a typedef name`);
      } else {
        const first = decls.tags.get(name);
        if (first)
          c.report(
            [...path, 'name'],
            `duplicate type name '${name}' (first declared at types[${first.index}])`,
          );
      }
    }
    if (kind === 'typedef') {
      const text = c.string(raw['type'], [...path, 'type']);
      let parsed: TypeExpression | undefined;
      if (text !== undefined) {
        const result = parseTypeExpression(text);
        if (result.ok) parsed = result.value;
        else c.report([...path, 'type'], result.error);
      }
      if (name !== undefined && !decls.typedefs.has(name))
        decls.typedefs.set(name, { type: parsed, index });
      if (name !== undefined && parsed)
        types.push({ kind, name, type: formatTypeExpression(parsed) });
      return;
    }
    if (name !== undefined && !decls.tags.has(name)) decls.tags.set(name, { kind, index });
    const size =
      kind === 'enum'
        ? c.integer(raw['size'], [...path, 'size'], 1, 8)
        : c.integer(raw['size'], [...path, 'size'], 0, U32_MAX);
    if (kind === 'enum' && size !== undefined && ![1, 2, 4, 8].includes(size)) {
      c.report([...path, 'size'], `an enum's size must be 1, 2, 4 or 8, got ${size}`);
    }
    const countKey = kind === 'enum' ? 'values' : 'members';
    const count = c.integer(raw[countKey], [...path, countKey], 0, 0xffff);
    if (name === undefined || size === undefined || count === undefined) return;
    types.push(
      kind === 'enum' ? { kind, name, size, values: count } : { kind, name, size, members: count },
    );
  });
  return types;
};

/** Checks that a parsed type names only declared or built-in types. */
const checkTypeReferences = (
  c: Checker,
  type: TypeExpression,
  path: FieldPath,
  decls: Declarations,
): boolean => {
  const { base } = type;
  if (base.kind === 'builtin') return true;
  if (base.kind === 'typedef') {
    if (decls.typedefs.has(base.name) || C_BUILTIN_TYPEDEFS.has(base.name)) return true;
    c.report(path, `unknown type '${base.name}' (not a built-in type or a typedef under types)`);
    return false;
  }
  const tag = decls.tags.get(base.name);
  if (!tag) {
    c.report(path, `unknown ${base.kind} '${base.name}' (declare it under types)`);
    return false;
  }
  if (tag.kind !== base.kind) {
    c.report(
      path,
      `'${base.name}' is declared as a ${tag.kind}, not a ${base.kind} (types[${tag.index}])`,
    );
    return false;
  }
  return true;
};

const checkTypedefs = (c: Checker, decls: Declarations): void => {
  for (const [name, { type, index }] of decls.typedefs) {
    if (!type) continue;
    if (!checkTypeReferences(c, type, ['types', index, 'type'], decls)) continue;
    // follow the typedef chain; pointers break no cycle in a typedef-to-typedef chain of names
    const seen = [name];
    let next: TypeExpression | undefined = type;
    while (next && next.base.kind === 'typedef') {
      const target: string = next.base.name;
      if (seen.includes(target)) {
        if (target === name)
          c.report(['types', index, 'type'], `typedef cycle: ${[...seen, target].join(' -> ')}`);
        break;
      }
      seen.push(target);
      next = decls.typedefs.get(target)?.type;
    }
  }
};

const validateTypeText = (
  c: Checker,
  value: unknown,
  path: FieldPath,
  decls: Declarations,
): string | undefined => {
  const text = c.string(value, path);
  if (text === undefined) return undefined;
  const parsed = parseTypeExpression(text);
  if (!parsed.ok) return c.report(path, parsed.error);
  return checkTypeReferences(c, parsed.value, path, decls)
    ? formatTypeExpression(parsed.value)
    : undefined;
};

const validateFunction = (
  c: Checker,
  value: unknown,
  path: FieldPath,
  decls: Declarations,
): FunctionDeclaration | undefined => {
  const raw = c.mapping(value, path, ['name', 'ret', 'params'], [...FUNCTION_FLAGS, 'btfId']);
  if (!raw) return undefined;
  const name = c.matching(raw['name'], [...path, 'name'], IDENTIFIER, 'function name');
  const ret =
    raw['ret'] === '...'
      ? c.report([...path, 'ret'], "'...' is only allowed as the last param")
      : validateTypeText(c, raw['ret'], [...path, 'ret'], decls);
  const rawParams =
    raw['params'] === undefined ? undefined : c.list(raw['params'], [...path, 'params']);
  const params: ParamDeclaration[] = [];
  let paramsOk = rawParams !== undefined;
  const paramNames = new Map<string, number>();
  rawParams?.forEach((param, i) => {
    const paramPath = [...path, 'params', i];
    if (param === '...') {
      if (i !== rawParams.length - 1) {
        paramsOk = false;
        c.report(paramPath, "'...' (varargs) must be the last param");
      } else params.push('...');
      return;
    }
    if (typeof param === 'string') {
      const type = validateTypeText(c, param, paramPath, decls);
      if (type === undefined) paramsOk = false;
      else params.push(type);
      return;
    }
    const rawParam = c.mapping(param, paramPath, ['type'], ['name']);
    if (!rawParam) {
      paramsOk = false;
      return;
    }
    const type = validateTypeText(c, rawParam['type'], [...paramPath, 'type'], decls);
    const paramName =
      rawParam['name'] === undefined
        ? undefined
        : c.matching(rawParam['name'], [...paramPath, 'name'], IDENTIFIER, 'param name');
    if (paramName !== undefined) {
      const first = paramNames.get(paramName);
      if (first !== undefined) {
        c.report(
          [...paramPath, 'name'],
          `duplicate param name '${paramName}' (also params[${first}])`,
        );
        paramsOk = false;
      } else paramNames.set(paramName, i);
    }
    if (type === undefined || (rawParam['name'] !== undefined && paramName === undefined)) {
      paramsOk = false;
      return;
    }
    params.push(paramName === undefined ? { type } : { type, name: paramName });
  });
  const flags: Partial<Record<(typeof FUNCTION_FLAGS)[number], boolean>> = {};
  let flagsOk = true;
  for (const flag of FUNCTION_FLAGS) {
    if (raw[flag] === undefined) continue;
    const b = c.boolean(raw[flag], [...path, flag]);
    if (b === undefined) flagsOk = false;
    else flags[flag] = b;
  }
  const btfId =
    raw['btfId'] === undefined
      ? undefined
      : c.integer(raw['btfId'], [...path, 'btfId'], 1, 0x7fffffff);
  if (name === undefined || ret === undefined || !paramsOk || !flagsOk) return undefined;
  if (raw['btfId'] !== undefined && btfId === undefined) return undefined;
  return { name, ret, params, ...flags, ...(btfId === undefined ? {} : { btfId }) };
};

const validateObjects = (c: Checker, value: unknown, decls: Declarations): ObjectDeclaration[] => {
  const items = c.list(value, ['objects']);
  if (!items) return [];
  if (items.length === 0) c.report(['objects'], 'must declare at least vmlinux');
  const objects: ObjectDeclaration[] = [];
  items.forEach((item, index) => {
    const path = ['objects', index];
    const raw = c.mapping(item, path, ['name', 'functions'], ['kind', 'loaded']);
    if (!raw) return;
    const name = c.matching(raw['name'], [...path, 'name'], OBJECT_NAME, 'object name');
    let kind: ObjectKind | undefined =
      raw['kind'] === undefined
        ? index === 0
          ? 'vmlinux'
          : 'module'
        : c.oneOf(raw['kind'], [...path, 'kind'], ['vmlinux', 'module', 'user'] as const);
    if (index === 0) {
      if (name !== undefined && name !== 'vmlinux') {
        c.report([...path, 'name'], `the first object must be vmlinux, got '${name}'`);
      }
      if (kind !== undefined && kind !== 'vmlinux') {
        kind = c.report([...path, 'kind'], `the first object is vmlinux, got '${kind}'`);
      }
    } else if (kind === 'vmlinux') {
      kind = c.report([...path, 'kind'], 'only the first object is vmlinux');
    }
    let loaded: boolean | undefined;
    if (raw['loaded'] !== undefined) {
      if (kind !== undefined && kind !== 'module') {
        c.report([...path, 'loaded'], `only modules have 'loaded' (this object is ${kind})`);
      } else loaded = c.boolean(raw['loaded'], [...path, 'loaded']);
    }
    if (name !== undefined) {
      const first = decls.objects.get(name);
      if (first)
        c.report(
          [...path, 'name'],
          `duplicate object name '${name}' (first declared at objects[${first.index}])`,
        );
      else if (kind !== undefined) decls.objects.set(name, { kind, index });
    }
    const rawFunctions =
      raw['functions'] === undefined ? undefined : c.list(raw['functions'], [...path, 'functions']);
    const functions: FunctionDeclaration[] = [];
    const functionNames = new Map<string, number>();
    const btfIds = new Map<number, number>();
    rawFunctions?.forEach((f, i) => {
      const fn = validateFunction(c, f, [...path, 'functions', i], decls);
      const fname = isMapping(f) && typeof f['name'] === 'string' ? f['name'] : undefined;
      if (fname !== undefined) {
        const first = functionNames.get(fname);
        if (first !== undefined) {
          c.report(
            [...path, 'functions', i, 'name'],
            `duplicate function '${fname}' in ${name ?? 'this object'} (first declared at functions[${first}])`,
          );
          return;
        }
        functionNames.set(fname, i);
      }
      if (fn?.btfId !== undefined) {
        const first = btfIds.get(fn.btfId);
        if (first !== undefined) {
          c.report(
            [...path, 'functions', i, 'btfId'],
            `btfId ${fn.btfId} is already used by functions[${first}]`,
          );
          return;
        }
        btfIds.set(fn.btfId, i);
      }
      if (fn) functions.push(fn);
    });
    if (name === undefined || kind === undefined || rawFunctions === undefined) return;
    objects.push({ name, kind, ...(loaded === undefined ? {} : { loaded }), functions });
  });
  return objects;
};

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
    if (type !== undefined && !decls.tags.has(type) && !decls.typedefs.has(type)) {
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
      if (declared.kind !== 'module')
        return c.report(at('module'), `'${name}' is not a module (it is ${declared.kind})`);
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
          ATTACH,
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
 * Validates a parsed scenario document (plain data from YAML or JSON, integers as bigint).
 * Returns the typed scenario, or every problem found, each with the path of the field.
 */
export const validateScenario = (
  document: unknown,
): Result<Scenario, readonly ScenarioProblem[]> => {
  const c = createChecker();
  const root = c.mapping(
    document,
    [],
    ['name', 'objects', 'steps'],
    ['profile', 'limits', 'types'],
  );
  if (!root) return err(c.problems);
  const decls: Declarations = {
    tags: new Map(),
    typedefs: new Map(),
    objects: new Map(),
    ids: new Map(),
  };
  const name = root['name'] === undefined ? undefined : c.string(root['name'], ['name']);
  const profile: ScenarioProfile | undefined =
    root['profile'] === undefined
      ? 'v24'
      : c.oneOf(root['profile'], ['profile'], ['v24', 'v26'] as const);
  const limits = root['limits'] === undefined ? undefined : validateLimits(c, root['limits']);
  const types = root['types'] === undefined ? [] : validateTypes(c, root['types'], decls);
  checkTypedefs(c, decls);
  const objects = root['objects'] === undefined ? [] : validateObjects(c, root['objects'], decls);
  const steps = root['steps'] === undefined ? [] : validateSteps(c, root['steps'], decls);
  if (c.problems.length > 0 || name === undefined || profile === undefined) return err(c.problems);
  return ok({ name, profile, ...(limits === undefined ? {} : { limits }), types, objects, steps });
};
