/**
 * The kernel-spec format (kernel-scenarios.md "File": `profile`, `limits`, `types`, `objects`),
 * one contract for every reader: `tramway kernel run` (scenario files add `name` and `steps`)
 * and the agent's sim kernels (which add `multiLink`). Untrusted documents: every problem is
 * listed with the path of its field, in the order the fields are declared, with the messages of
 * `describeValue` and friends below.
 *
 * Two parts: `kernelSpecDocumentSchema` (zod) checks each field on its own; the references
 * between declarations (type names, duplicates, vmlinux first, varargs last) are what one
 * field's schema cannot see, and `declarationProblems` checks them on the same document.
 *
 * Kept in one file over ~400 lines: the schema of every declaration kind and the checks that
 * cross them (type names, duplicates, order) must agree on one set of messages.
 */
import { z } from 'zod';
import type { core } from 'zod';
import type {
  FunctionDecl,
  KernelSpec,
  ObjectDecl,
  ParamDecl,
  SpecProblem,
  TypeDecl,
  TypeExpression,
} from '../kernel/index.js';
import {
  C_BUILTIN_TYPEDEFS,
  formatTypeExpression,
  isCBuiltinType,
  parseTypeExpression,
} from '../kernel/index.js';
import { KERNEL_PROFILES } from '../lib/kernel-vocabulary.js';
import type { Result } from '../lib/result.js';
import { err, ok } from '../lib/result.js';

const U32_MAX = 2 ** 32 - 1;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const OBJECT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const C_KEYWORDS = ['struct', 'union', 'enum', 'const', 'volatile', 'unsigned', 'signed'];
/** The optional function flags of kernel-scenarios.md, in their documented order. */
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

type Mapping = Readonly<Record<string, unknown>>;
const isMapping = (value: unknown): value is Mapping =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** How a problem message names a value the document holds. */
export const describeValue = (value: unknown): string => {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean')
    return `${value}`;
  if (typeof value === 'string') return `'${value}'`;
  return 'a mapping';
};

/** An integer (a number or, from a YAML reader keeping u64 exact, a bigint) in [min, max]. */
const integerIn = (min: number, max: number) =>
  z
    .custom<number | bigint>(
      (v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v)),
      {
        error: (iss) =>
          iss.input === undefined
            ? 'required field is missing'
            : `must be an integer, got ${describeValue(iss.input)}`,
      },
    )
    .refine((n) => n >= min && n <= max, {
      error: (iss) => `must be between ${min} and ${max}, got ${String(iss.input)}`,
    })
    .transform((n) => Number(n));

/** A string matching `pattern`; `what` names it in the message. */
const nameMatching = (pattern: RegExp, what: string) =>
  z.string().regex(pattern, { error: (iss) => `'${String(iss.input)}' is not a valid ${what}` });

/** The canonical spelling of a C type expression (c-types.ts), or its problem. */
const canonicalType = (text: string, ctx: core.$RefinementCtx<string>): string => {
  const parsed = parseTypeExpression(text);
  if (parsed.ok) return formatTypeExpression(parsed.value);
  ctx.issues.push({ code: 'custom', message: parsed.error, input: text });
  return z.NEVER;
};

/** A C type; whether the names it uses are declared is checked with the declarations. */
const typeText = z.string().transform(canonicalType);

const retType = z
  .string()
  .refine((text) => text !== '...', { error: "'...' is only allowed as the last param" })
  .transform(canonicalType);

/** A param: a C type, `...` (varargs; last only, checked with the declarations), or `{ type, name }`. */
const paramDecl = z.union([
  z.string().transform((text, ctx) => (text === '...' ? text : canonicalType(text, ctx))),
  z.strictObject({ type: typeText, name: nameMatching(IDENTIFIER, 'param name').exactOptional() }),
]);

const flagShape = Object.fromEntries(
  FUNCTION_FLAGS.map((f) => [f, z.boolean().exactOptional()]),
) as {
  readonly [K in (typeof FUNCTION_FLAGS)[number]]: z.ZodExactOptional<z.ZodBoolean>;
};

const functionDecl = z.strictObject({
  name: nameMatching(IDENTIFIER, 'function name'),
  ret: retType,
  params: z.array(paramDecl),
  ...flagShape,
  btfId: integerIn(1, 0x7fffffff).exactOptional(),
});

const typeDecl = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.enum(['struct', 'union']),
    name: nameMatching(IDENTIFIER, 'type name'),
    size: integerIn(0, U32_MAX),
    members: integerIn(0, 0xffff),
  }),
  z.strictObject({
    kind: z.literal('enum'),
    name: nameMatching(IDENTIFIER, 'type name'),
    size: integerIn(1, 8).refine((n) => [1, 2, 4, 8].includes(n), {
      error: (iss) => `an enum's size must be 1, 2, 4 or 8, got ${String(iss.input)}`,
    }),
    values: integerIn(0, 0xffff),
  }),
  z.strictObject({
    kind: z.literal('typedef'),
    name: nameMatching(IDENTIFIER, 'type name'),
    type: typeText,
  }),
]);

/** Object kinds; `kind` defaults to vmlinux for the first object and module for the others. */
const objectDecl = z.strictObject({
  kind: z.enum(['vmlinux', 'module', 'user']).exactOptional(),
  loaded: z.boolean().exactOptional(),
  name: nameMatching(OBJECT_NAME, 'object name'),
  functions: z.array(functionDecl),
});

const limitsDecl = z.strictObject({
  maxTrampLinks: integerIn(1, U32_MAX).exactOptional(),
  maxMultiCount: integerIn(1, U32_MAX).exactOptional(),
});

/** The declaration fields of the format, in document order. */
const kernelSpecShape = {
  profile: z.enum(KERNEL_PROFILES).exactOptional(),
  limits: limitsDecl.exactOptional(),
  types: z.array(typeDecl).exactOptional(),
  objects: z.array(objectDecl).min(1, { error: 'must declare at least vmlinux' }),
};

/**
 * A document of the format: the declaration fields, between the fields a reader adds before
 * (`leading`) and after them (`trailing`). Unknown fields are refused.
 */
export const kernelSpecDocumentSchema = <L extends z.ZodRawShape, T extends z.ZodRawShape>(
  leading: L,
  trailing: T,
) => z.strictObject({ ...leading, ...kernelSpecShape, ...trailing });

/** Field order per mapping, for listing problems in document order (unknown fields first). */
const FIELD_ORDER: Readonly<Record<string, readonly string[]>> = {
  limits: Object.keys(limitsDecl.shape),
  types: ['kind', 'name', 'type', 'size', 'members', 'values'],
  objects: Object.keys(objectDecl.shape),
  'objects.functions': Object.keys(functionDecl.shape),
  'objects.functions.params': ['type', 'name'],
};

/** Messages for the issues zod raises by itself, in the format's words. */
const issueMessage = (iss: core.$ZodRawIssue): string | undefined => {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'required field is missing';
      switch (iss.expected) {
        case 'object':
          return `must be a mapping, got ${describeValue(iss.input)}`;
        case 'array':
          return `must be a list, got ${describeValue(iss.input)}`;
        case 'boolean':
          return `must be true or false, got ${describeValue(iss.input)}`;
        default:
          return `must be a ${iss.expected}, got ${describeValue(iss.input)}`;
      }
    case 'invalid_value':
      if (typeof iss.input !== 'string') return `must be a string, got ${describeValue(iss.input)}`;
      return `must be one of ${iss.values.join(', ')}, got '${iss.input}'`;
    case 'unrecognized_keys': {
      const shape = (iss.inst as { _zod?: { def?: { shape?: z.ZodRawShape } } } | undefined)?._zod
        ?.def?.shape;
      const keys = Object.keys(shape ?? {});
      const optional = (k: string): boolean =>
        (shape?.[k] as core.$ZodType | undefined)?._zod.optin === 'optional';
      const allowed = [...keys.filter((k) => !optional(k)), ...keys.filter(optional)];
      return `unknown field (allowed here: ${allowed.join(', ') || 'none'})`;
    }
    case 'invalid_union': {
      if (!('discriminator' in iss)) return undefined;
      const input = isMapping(iss.input) ? iss.input[iss.discriminator as string] : undefined;
      if (input === undefined) return 'required field is missing';
      if (typeof input !== 'string') return `must be a string, got ${describeValue(input)}`;
      const options = (iss as { options?: readonly unknown[] }).options ?? [];
      return `must be one of ${options.join(', ')}, got '${input}'`;
    }
    default:
      return undefined;
  }
};

type Path = readonly (string | number)[];

/**
 * The problems of a zod issue: a union reports the one branch the value's own type selects
 * (a string where a string or a mapping may go is read as the string); unknown fields one each.
 */
const problemsOf = (issue: core.$ZodIssue, prefix: Path = []): SpecProblem[] => {
  const path: Path = [...prefix, ...(issue.path as Path)];
  if (issue.code === 'unrecognized_keys')
    return issue.keys.map((k) => ({ path: [...path, k], message: issue.message }));
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const matching = issue.errors.filter(
      (branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0),
    );
    const chosen = matching.length === 1 ? matching[0] : issue.errors.at(-1);
    if (chosen !== undefined) return chosen.flatMap((i) => problemsOf(i, path));
  }
  return [{ path, message: issue.message }];
};

/** Rank of each path segment: unknown fields first, then fields in declaration order. */
const sortKey = (problem: SpecProblem, rootOrder: readonly string[]): number[] => {
  const unknownField = problem.message.startsWith('unknown field (');
  const names: string[] = [];
  return problem.path.map((part, i) => {
    if (typeof part === 'number') return part;
    const order = i === 0 ? rootOrder : (FIELD_ORDER[names.join('.')] ?? []);
    names.push(part);
    if (unknownField && i === problem.path.length - 1) return -1;
    const rank = order.indexOf(part);
    return rank < 0 ? order.length : rank;
  });
};

const byDocumentOrder =
  (rootOrder: readonly string[]) =>
  (a: SpecProblem, b: SpecProblem): number => {
    const ka = sortKey(a, rootOrder);
    const kb = sortKey(b, rootOrder);
    for (let i = 0; i < Math.min(ka.length, kb.length); i++)
      if (ka[i] !== kb[i]) return (ka[i] ?? 0) - (kb[i] ?? 0);
    return ka.length - kb.length;
  };

/** The names a document declares, as far as they are well formed (first declaration wins). */
export interface KernelSpecDeclarations {
  readonly objects: ReadonlyMap<string, ObjectDecl['kind']>;
  /** struct, union and enum tags and typedef names */
  readonly types: ReadonlySet<string>;
}

export interface KernelSpecOptions {
  /**
   * A pointer to a struct or union that `types` does not declare is an opaque (forward
   * declared) type, as the kernel model builds it; default false: every name must be declared,
   * as scenario files do.
   */
  readonly opaqueStructPointers?: boolean;
}

/**
 * The references between declarations, on the raw document: type names used but not declared
 * (or declared as another kind), typedef cycles, duplicate type, object, function, param names
 * and btf ids, vmlinux first and only first, `loaded` only on modules, varargs only last. Values
 * the field schemas refuse are skipped here: they are reported once, there.
 */
export const declarationProblems = (
  doc: unknown,
  options: KernelSpecOptions = {},
): { readonly problems: readonly SpecProblem[]; readonly declarations: KernelSpecDeclarations } => {
  const problems: SpecProblem[] = [];
  const report = (path: Path, message: string): void => {
    problems.push({ path, message });
  };
  const tags = new Map<string, { kind: 'struct' | 'union' | 'enum'; index: number }>();
  const typedefs = new Map<string, { type: TypeExpression | undefined; index: number }>();
  const objects = new Map<string, { kind: ObjectDecl['kind']; index: number }>();
  const root = isMapping(doc) ? doc : {};
  const list = (v: unknown): readonly unknown[] => (Array.isArray(v) ? v : []);
  const nameOf = (v: Mapping, pattern: RegExp): string | undefined =>
    typeof v['name'] === 'string' && pattern.test(v['name']) ? v['name'] : undefined;

  list(root['types']).forEach((item, index) => {
    if (!isMapping(item)) return;
    const kind = item['kind'];
    const name = nameOf(item, IDENTIFIER);
    if (name === undefined) return;
    const path = ['types', index, 'name'];
    if (kind === 'typedef') {
      const first = typedefs.get(name);
      if (first)
        report(path, `duplicate typedef '${name}' (first declared at types[${first.index}])`);
      else if (isCBuiltinType(name) || C_KEYWORDS.includes(name))
        report(path, `'${name}' is a C keyword, not a typedef name`);
      if (first === undefined) {
        const parsed = typeof item['type'] === 'string' ? parseTypeExpression(item['type']) : null;
        typedefs.set(name, { type: parsed?.ok ? parsed.value : undefined, index });
      }
    } else if (kind === 'struct' || kind === 'union' || kind === 'enum') {
      const first = tags.get(name);
      if (first)
        report(path, `duplicate type name '${name}' (first declared at types[${first.index}])`);
      else tags.set(name, { kind, index });
    }
  });

  /** Whether `type` names only declared or built-in types; reports the first that is not. */
  const referencesKnown = (type: TypeExpression, path: Path): boolean => {
    const { base } = type;
    if (base.kind === 'builtin') return true;
    if (base.kind === 'typedef') {
      if (typedefs.has(base.name) || C_BUILTIN_TYPEDEFS.has(base.name)) return true;
      report(path, `unknown type '${base.name}' (not a built-in type or a typedef under types)`);
      return false;
    }
    const tag = tags.get(base.name);
    if (!tag) {
      if (options.opaqueStructPointers && base.kind !== 'enum' && type.pointers > 0) return true;
      report(path, `unknown ${base.kind} '${base.name}' (declare it under types)`);
      return false;
    }
    if (tag.kind !== base.kind) {
      report(
        path,
        `'${base.name}' is declared as a ${tag.kind}, not a ${base.kind} (types[${tag.index}])`,
      );
      return false;
    }
    return true;
  };
  const checkText = (text: unknown, path: Path): void => {
    if (typeof text !== 'string' || text === '...') return;
    const parsed = parseTypeExpression(text);
    if (parsed.ok) referencesKnown(parsed.value, path);
  };

  for (const [name, { type, index }] of typedefs) {
    if (!type || !referencesKnown(type, ['types', index, 'type'])) continue;
    // follow the typedef chain; pointers break no cycle in a typedef-to-typedef chain of names
    const seen = [name];
    let next: TypeExpression | undefined = type;
    while (next && next.base.kind === 'typedef') {
      const target: string = next.base.name;
      if (seen.includes(target)) {
        if (target === name)
          report(['types', index, 'type'], `typedef cycle: ${[...seen, target].join(' -> ')}`);
        break;
      }
      seen.push(target);
      next = typedefs.get(target)?.type;
    }
  }

  list(root['objects']).forEach((item, index) => {
    if (!isMapping(item)) return;
    const path = ['objects', index];
    const name = nameOf(item, OBJECT_NAME);
    const rawKind = item['kind'];
    let kind: ObjectDecl['kind'] | undefined =
      rawKind === undefined
        ? index === 0
          ? 'vmlinux'
          : 'module'
        : rawKind === 'vmlinux' || rawKind === 'module' || rawKind === 'user'
          ? rawKind
          : undefined;
    if (index === 0) {
      if (name !== undefined && name !== 'vmlinux')
        report([...path, 'name'], `the first object must be vmlinux, got '${name}'`);
      if (kind !== undefined && kind !== 'vmlinux') {
        report([...path, 'kind'], `the first object is vmlinux, got '${kind}'`);
        kind = undefined;
      }
    } else if (kind === 'vmlinux') {
      report([...path, 'kind'], 'only the first object is vmlinux');
      kind = undefined;
    }
    if (item['loaded'] !== undefined && kind !== undefined && kind !== 'module')
      report([...path, 'loaded'], `only modules have 'loaded' (this object is ${kind})`);
    if (name !== undefined) {
      const first = objects.get(name);
      if (first)
        report(
          [...path, 'name'],
          `duplicate object name '${name}' (first declared at objects[${first.index}])`,
        );
      else if (kind !== undefined) objects.set(name, { kind, index });
    }
    const functionNames = new Map<string, number>();
    const btfIds = new Map<number, number>();
    list(item['functions']).forEach((f, i) => {
      if (!isMapping(f)) return;
      const fpath = [...path, 'functions', i];
      checkText(f['ret'], [...fpath, 'ret']);
      const params = list(f['params']);
      const paramNames = new Map<string, number>();
      params.forEach((p, k) => {
        const ppath = [...fpath, 'params', k];
        if (p === '...') {
          if (k !== params.length - 1) report(ppath, "'...' (varargs) must be the last param");
          return;
        }
        if (!isMapping(p)) return checkText(p, ppath);
        checkText(p['type'], [...ppath, 'type']);
        const pname = nameOf(p, IDENTIFIER);
        if (pname === undefined) return;
        const first = paramNames.get(pname);
        if (first !== undefined)
          report([...ppath, 'name'], `duplicate param name '${pname}' (also params[${first}])`);
        else paramNames.set(pname, k);
      });
      const fname = typeof f['name'] === 'string' ? f['name'] : undefined;
      if (fname !== undefined) {
        const first = functionNames.get(fname);
        if (first !== undefined) {
          report(
            [...fpath, 'name'],
            `duplicate function '${fname}' in ${name ?? 'this object'} (first declared at functions[${first}])`,
          );
          return;
        }
        functionNames.set(fname, i);
      }
      const btfId = f['btfId'];
      const id = typeof btfId === 'bigint' ? Number(btfId) : btfId;
      if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 1 && id <= 0x7fffffff) {
        const first = btfIds.get(id);
        if (first !== undefined)
          report([...fpath, 'btfId'], `btfId ${id} is already used by functions[${first}]`);
        else btfIds.set(id, i);
      }
    });
  });

  return {
    problems,
    declarations: {
      objects: new Map([...objects].map(([n, o]) => [n, o.kind])),
      types: new Set([...tags.keys(), ...typedefs.keys()]),
    },
  };
};

type SpecDocument = z.output<z.ZodObject<typeof kernelSpecShape>>;

/** The model's KernelSpec of a document that passed both parts (kinds defaulted by position). */
const toKernelSpec = (d: SpecDocument): KernelSpec => ({
  profile: d.profile ?? 'v24',
  ...(d.limits === undefined ? {} : { limits: d.limits }),
  types: (d.types ?? []).map((t): TypeDecl => t),
  objects: d.objects.map((o, index): ObjectDecl => ({
    name: o.name,
    kind: o.kind ?? (index === 0 ? 'vmlinux' : 'module'),
    ...(o.loaded === undefined ? {} : { loaded: o.loaded }),
    functions: o.functions.map(({ params, btfId, ...rest }): FunctionDecl => ({
      ...rest,
      params: params.map((p): ParamDecl => p),
      ...(btfId === undefined ? {} : { btfId }),
    })),
  })),
});

/** A checked document: the model's spec and the reader's own fields. */
export interface KernelSpecDocument<Extra> {
  readonly spec: KernelSpec;
  readonly extra: Extra;
}

/**
 * Checks a parsed document (plain data from YAML or JSON; integers may be bigints) against the
 * format plus the reader's own `leading` and `trailing` fields. Returns the model's spec and
 * the reader's fields, or every problem in document order (unknown fields of a mapping first),
 * each with the path of its field. The declarations are returned either way: a reader that
 * checks more (scenario steps) refers to them.
 */
export const parseKernelSpecDocument = <L extends z.ZodRawShape, T extends z.ZodRawShape>(
  doc: unknown,
  fields: { readonly leading?: L; readonly trailing?: T },
  options: KernelSpecOptions = {},
): {
  readonly result: Result<
    KernelSpecDocument<z.output<z.ZodObject<L>> & z.output<z.ZodObject<T>>>,
    readonly SpecProblem[]
  >;
  readonly declarations: KernelSpecDeclarations;
} => {
  const leading = fields.leading ?? ({} as L);
  const trailing = fields.trailing ?? ({} as T);
  const schema = kernelSpecDocumentSchema(leading, trailing);
  const parsed = schema.safeParse(doc, { error: issueMessage });
  const cross = declarationProblems(doc, options);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.flatMap((i) => problemsOf(i))),
    ...cross.problems,
  ];
  if (problems.length > 0 || !parsed.success) {
    const order = Object.keys(schema.shape);
    return {
      result: err([...problems].sort(byDocumentOrder(order))),
      declarations: cross.declarations,
    };
  }
  const data = parsed.data as Record<string, unknown>;
  const pick = (shape: z.ZodRawShape) =>
    Object.fromEntries(Object.keys(shape).flatMap((k) => (k in data ? [[k, data[k]]] : [])));
  return {
    result: ok({
      spec: toKernelSpec(parsed.data as SpecDocument),
      extra: { ...pick(leading), ...pick(trailing) } as z.output<z.ZodObject<L>> &
        z.output<z.ZodObject<T>>,
    }),
    declarations: cross.declarations,
  };
};
