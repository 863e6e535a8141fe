/**
 * Scenario declarations → BTF objects (kernel-scenarios.md "Types in ret and params"). Named
 * types live in vmlinux; a module's split BTF reuses vmlinux's types and adds what it lacks;
 * within one object identical prototypes share one FUNC_PROTO, as deduplicated BTF does.
 *
 * Kept in one file over ~400 lines: the builder's type table, name interning and id
 * assignment are shared by every kind it builds; split, they would have to be exported.
 */
import type { BtfObject, BtfObjectKind, BtfParam, BtfType, TypeId } from '../lib/btf-model.js';
import { C_BUILTIN_TYPEDEFS, C_INT_TYPES, parseTypeExpression } from './c-types.js';
import type { TypeExpression } from './c-types.js';
import type {
  FunctionAttrs,
  FunctionDecl,
  KernelSpec,
  SpecProblem,
  TypeDecl,
} from './kernel-types.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses one `ret`/`params` type string (the one C type grammar, c-types.ts). `typedefs` says
 * which names are typedefs (declared or built in). Returns the reason on failure.
 */
const parseType = (
  text: string,
  typedefs: ReadonlySet<string>,
): { ok: true; value: TypeExpression } | { ok: false; reason: string } => {
  const parsed = parseTypeExpression(text);
  if (!parsed.ok) return { ok: false, reason: parsed.error };
  const base = parsed.value.base;
  if (base.kind === 'typedef' && !typedefs.has(base.name))
    return { ok: false, reason: `unknown type "${text}"` };
  return { ok: true, value: parsed.value };
};

const plain = (base: TypeExpression['base']): TypeExpression => ({
  qualifiers: [],
  base,
  pointers: 0,
});

/** An object's declared functions resolved into BTF, plus the symbol facts of each function. */
export interface BuiltObject {
  readonly btf: BtfObject;
  readonly loaded: boolean;
  readonly attrs: ReadonlyMap<string, Partial<FunctionAttrs>>;
}

interface Builder {
  readonly kind: BtfObjectKind;
  readonly first: TypeId;
  readonly types: BtfType[];
  readonly keys: Map<string, TypeId>;
  readonly baseKeys: ReadonlyMap<string, TypeId> | null;
}

const intern = (b: Builder, key: string, make: () => BtfType): TypeId => {
  const inBase = b.baseKeys?.get(key);
  if (inBase !== undefined) return inBase;
  const own = b.keys.get(key);
  if (own !== undefined) return own;
  const id = b.first + b.types.length;
  b.types.push(make());
  b.keys.set(key, id);
  return id;
};

interface Decls {
  readonly su: ReadonlyMap<
    string,
    { decl: TypeDecl & { kind: 'struct' | 'union' }; index: number }
  >;
  readonly enums: ReadonlyMap<string, { decl: TypeDecl & { kind: 'enum' }; index: number }>;
  readonly typedefs: ReadonlyMap<string, { decl: TypeDecl & { kind: 'typedef' }; index: number }>;
  readonly typedefNames: ReadonlySet<string>;
}

type TypeResult = { ok: true; id: TypeId } | { ok: false; reason: string };

/** Interns a parsed type; `byValue` rejects undeclared struct/union used by value. */
const internType = (
  b: Builder,
  decls: Decls,
  parsed: TypeExpression,
  visiting: Set<string>,
): TypeResult => {
  let id: TypeId;
  const base = parsed.base;
  switch (base.kind) {
    case 'builtin': {
      if (base.name === 'void') {
        id = 0;
        break;
      }
      const info = C_INT_TYPES.get(base.name);
      if (info === undefined) return { ok: false, reason: `unknown int ${base.name}` };
      id = intern(b, `int:${base.name}`, () => ({
        kind: 'int',
        name: base.name,
        size: info.size,
        signed: info.signed,
        char: info.char,
        bool: info.bool,
        bitOffset: 0,
        bits: info.size * 8,
      }));
      break;
    }
    case 'struct':
    case 'union': {
      const suKind = base.kind;
      const d = decls.su.get(`${suKind} ${base.name}`);
      if (d === undefined && parsed.pointers === 0)
        return {
          ok: false,
          reason: `${base.kind} ${base.name} is used by value but not declared in types`,
        };
      const intId = internType(b, decls, plain({ kind: 'builtin', name: 'int' }), visiting);
      const memberType = intId.ok ? intId.id : 0;
      id = intern(b, `${suKind}:${base.name}`, () => ({
        kind: suKind,
        name: base.name,
        size: d?.decl.size ?? 0,
        kindFlag: false,
        members: Array.from({ length: d?.decl.members ?? 0 }, (_, i) => ({
          name: `m${i}`,
          type: memberType,
          bitOffset: 0,
          bitfieldSize: 0,
        })),
      }));
      break;
    }
    case 'enum': {
      const d = decls.enums.get(base.name);
      if (d === undefined)
        return { ok: false, reason: `enum ${base.name} is not declared in types` };
      id = intern(b, `enum:${base.name}`, () => ({
        kind: 'enum',
        name: base.name,
        size: d.decl.size,
        kindFlag: false,
        values: Array.from({ length: d.decl.values }, (_, i) => ({
          name: `${base.name}_${i}`,
          value: BigInt(i),
        })),
      }));
      break;
    }
    case 'typedef': {
      const declared = decls.typedefs.get(base.name)?.decl.type;
      const builtin = C_BUILTIN_TYPEDEFS.get(base.name);
      const target =
        declared !== undefined
          ? parseType(declared, decls.typedefNames)
          : builtin !== undefined
            ? { ok: true as const, value: plain({ kind: 'builtin', name: builtin }) }
            : undefined;
      if (target === undefined) return { ok: false, reason: `unknown typedef ${base.name}` };
      const key = `typedef:${base.name}`;
      const known = b.baseKeys?.get(key) ?? b.keys.get(key);
      if (known !== undefined) {
        id = known;
        break;
      }
      if (visiting.has(base.name))
        return { ok: false, reason: `typedef ${base.name} refers to itself` };
      visiting.add(base.name);
      const inner = target;
      if (!inner.ok) return { ok: false, reason: `typedef ${base.name}: ${inner.reason}` };
      const innerId = internType(b, decls, inner.value, visiting);
      visiting.delete(base.name);
      if (!innerId.ok) return { ok: false, reason: `typedef ${base.name}: ${innerId.reason}` };
      id = intern(b, key, () => ({ kind: 'typedef', name: base.name, type: innerId.id }));
      break;
    }
  }
  for (const m of parsed.qualifiers) {
    const inner = id;
    id = intern(b, `${m}:${inner}`, () => ({ kind: m, name: '', type: inner }));
  }
  for (let i = 0; i < parsed.pointers; i++) {
    const inner = id;
    id = intern(b, `ptr:${inner}`, () => ({ kind: 'ptr', type: inner }));
  }
  return { ok: true, id };
};

const collectDecls = (types: readonly TypeDecl[], problems: SpecProblem[]): Decls => {
  const su = new Map<string, { decl: TypeDecl & { kind: 'struct' | 'union' }; index: number }>();
  const enums = new Map<string, { decl: TypeDecl & { kind: 'enum' }; index: number }>();
  const typedefs = new Map<string, { decl: TypeDecl & { kind: 'typedef' }; index: number }>();
  for (const [index, decl] of types.entries()) {
    const path = ['types', index];
    if (!IDENT.test(decl.name)) {
      problems.push({
        path: [...path, 'name'],
        message: `type name "${decl.name}" is not an identifier`,
      });
      continue;
    }
    switch (decl.kind) {
      case 'struct':
      case 'union': {
        if (!Number.isInteger(decl.size) || decl.size < 0)
          problems.push({
            path: [...path, 'size'],
            message: `size ${decl.size} is not a byte count`,
          });
        if (!Number.isInteger(decl.members) || decl.members < 0 || decl.members > 0xffff)
          problems.push({
            path: [...path, 'members'],
            message: `members ${decl.members} must be 0..65535`,
          });
        const key = `${decl.kind} ${decl.name}`;
        if (su.has(key))
          problems.push({ path: [...path, 'name'], message: `${key} declared twice` });
        else su.set(key, { decl, index });
        break;
      }
      case 'enum':
        if (![1, 2, 4, 8].includes(decl.size))
          problems.push({
            path: [...path, 'size'],
            message: `enum size ${decl.size} must be 1, 2, 4 or 8`,
          });
        if (!Number.isInteger(decl.values) || decl.values < 0 || decl.values > 0xffff)
          problems.push({
            path: [...path, 'values'],
            message: `values ${decl.values} must be 0..65535`,
          });
        if (enums.has(decl.name))
          problems.push({ path: [...path, 'name'], message: `enum ${decl.name} declared twice` });
        else enums.set(decl.name, { decl, index });
        break;
      case 'typedef':
        if (
          typedefs.has(decl.name) ||
          C_BUILTIN_TYPEDEFS.has(decl.name) ||
          C_INT_TYPES.has(decl.name)
        )
          problems.push({
            path: [...path, 'name'],
            message: `typedef ${decl.name} is already defined`,
          });
        else typedefs.set(decl.name, { decl, index });
        break;
    }
  }
  const typedefNames = new Set([...typedefs.keys(), ...C_BUILTIN_TYPEDEFS.keys()]);
  return { su, enums, typedefs, typedefNames };
};

const paramOf = (p: FunctionDecl['params'][number]): { type: string; name: string } =>
  typeof p === 'string' ? { type: p, name: '' } : { type: p.type, name: p.name ?? '' };

const attrsOf = (f: FunctionDecl): Partial<FunctionAttrs> => {
  const a: { -readonly [K in keyof FunctionAttrs]?: FunctionAttrs[K] } = {};
  if (f.errorInjectable !== undefined) a.errorInjectable = f.errorInjectable;
  if (f.nonSleepable !== undefined) a.nonSleepable = f.nonSleepable;
  if (f.fmodret !== undefined) a.fmodret = f.fmodret;
  if (f.fmodretSleepable !== undefined) a.fmodretSleepable = f.fmodretSleepable;
  if (f.securityHook !== undefined) a.securityHook = f.securityHook;
  if (f.denyListed !== undefined) a.denyListed = f.denyListed;
  if (f.noreturn !== undefined) a.noreturn = f.noreturn;
  if (f.address !== undefined) a.hasAddress = f.address;
  return a;
};

const buildFunctions = (
  b: Builder,
  decls: Decls,
  functions: readonly FunctionDecl[],
  objIndex: number,
  problems: SpecProblem[],
): Map<string, Partial<FunctionAttrs>> => {
  const attrs = new Map<string, Partial<FunctionAttrs>>();
  const protos: { decl: FunctionDecl; index: number; proto: TypeId }[] = [];
  for (const [fi, f] of functions.entries()) {
    const path = ['objects', objIndex, 'functions', fi];
    if (!IDENT.test(f.name)) {
      problems.push({
        path: [...path, 'name'],
        message: `function name "${f.name}" is not an identifier`,
      });
      continue;
    }
    if (attrs.has(f.name)) {
      problems.push({
        path: [...path, 'name'],
        message: `function ${f.name} declared twice in this object`,
      });
      continue;
    }
    attrs.set(f.name, attrsOf(f));
    const ret = parseType(f.ret, decls.typedefNames);
    const retId = ret.ok ? internType(b, decls, ret.value, new Set()) : ret;
    if (!retId.ok) {
      problems.push({ path: [...path, 'ret'], message: retId.reason });
      continue;
    }
    const params: BtfParam[] = [];
    let bad = false;
    for (const [pi, raw] of f.params.entries()) {
      const p = paramOf(raw);
      const ppath = [...path, 'params', pi];
      if (p.type.trim() === '...') {
        if (pi !== f.params.length - 1) {
          problems.push({ path: ppath, message: `'...' must be the last parameter` });
          bad = true;
        }
        params.push({ name: '', type: 0 });
        continue;
      }
      const parsed = parseType(p.type, decls.typedefNames);
      const id = parsed.ok ? internType(b, decls, parsed.value, new Set()) : parsed;
      if (!id.ok) {
        problems.push({ path: ppath, message: id.reason });
        bad = true;
        continue;
      }
      if (id.id === 0) {
        problems.push({ path: ppath, message: `void is not a parameter type` });
        bad = true;
        continue;
      }
      params.push({ name: p.name, type: id.id });
    }
    if (bad) continue;
    const key = `proto:${retId.id}(${params.map((p) => `${p.type}:${p.name}`).join(',')})`;
    const proto = intern(b, key, () => ({ kind: 'func_proto', ret: retId.id, params }));
    protos.push({ decl: f, index: fi, proto });
  }
  // FUNC ids: auto ids follow the types in declaration order; fixed `btfId`s must lie above
  // them; gaps are filled with forward declarations so ids stay dense.
  const cursor = b.first + b.types.length;
  const fixed = new Map<number, (typeof protos)[number]>();
  const auto: (typeof protos)[number][] = [];
  for (const p of protos) {
    const want = p.decl.btfId;
    if (want === undefined) auto.push(p);
    else if (!Number.isInteger(want) || want < cursor || want > 0x7fffffff)
      problems.push({
        path: ['objects', objIndex, 'functions', p.index, 'btfId'],
        message: `btfId ${want} is not available: this object's types take ids up to ${cursor - 1}`,
      });
    else if (fixed.has(want))
      problems.push({
        path: ['objects', objIndex, 'functions', p.index, 'btfId'],
        message: `btfId ${want} is given to two functions`,
      });
    else fixed.set(want, p);
  }
  let remainingFixed = fixed.size;
  let nextAuto = 0;
  for (let id = cursor; remainingFixed > 0 || nextAuto < auto.length; id++) {
    const fx = fixed.get(id);
    const next = fx ?? (nextAuto < auto.length ? auto[nextAuto++] : undefined);
    if (fx !== undefined) remainingFixed--;
    if (next === undefined) b.types.push({ kind: 'fwd', name: `__gap_${id}`, kindFlag: false });
    else b.types.push({ kind: 'func', name: next.decl.name, type: next.proto, linkage: 'global' });
  }
  return attrs;
};

/** Declarations → BTF objects in declaration order (vmlinux first), or every problem found. */
export const buildBtfObjects = (
  spec: KernelSpec,
):
  { ok: true; value: readonly BuiltObject[] } | { ok: false; problems: readonly SpecProblem[] } => {
  const problems: SpecProblem[] = [];
  const decls = collectDecls(spec.types ?? [], problems);
  const objects = spec.objects;
  if (objects.length === 0 || objects[0]?.kind !== 'vmlinux')
    problems.push({ path: ['objects', 0], message: 'the first object must be vmlinux' });
  const names = new Set<string>();
  for (const [i, o] of objects.entries()) {
    if (i > 0 && o.kind === 'vmlinux')
      problems.push({
        path: ['objects', i, 'kind'],
        message: 'only the first object may be vmlinux',
      });
    if (names.has(o.name))
      problems.push({ path: ['objects', i, 'name'], message: `object ${o.name} declared twice` });
    if (!IDENT.test(o.name))
      problems.push({
        path: ['objects', i, 'name'],
        message: `object name "${o.name}" is not an identifier`,
      });
    if (o.kind !== 'module' && o.loaded === false)
      problems.push({ path: ['objects', i, 'loaded'], message: 'only modules can start unloaded' });
    names.add(o.name);
  }
  if (problems.length > 0) return { ok: false, problems };
  const out: BuiltObject[] = [];
  let baseKeys: ReadonlyMap<string, TypeId> | null = null;
  let baseEnd = 1;
  for (const [i, o] of objects.entries()) {
    const split = o.kind === 'module';
    const b: Builder = {
      kind: o.kind,
      first: split ? baseEnd : 1,
      types: [],
      keys: new Map(),
      baseKeys: split ? baseKeys : null,
    };
    if (o.kind === 'vmlinux') {
      // vmlinux carries every base int, named type and typedef, as the real one does.
      for (const name of C_INT_TYPES.keys())
        internType(b, decls, plain({ kind: 'builtin', name }), new Set());
      for (const [, d] of decls.su) {
        const r = internType(b, decls, plain({ kind: d.decl.kind, name: d.decl.name }), new Set());
        if (!r.ok) problems.push({ path: ['types', d.index], message: r.reason });
      }
      for (const [name, d] of decls.enums) {
        const r = internType(b, decls, plain({ kind: 'enum', name }), new Set());
        if (!r.ok) problems.push({ path: ['types', d.index], message: r.reason });
      }
      for (const [name, d] of decls.typedefs) {
        const r = internType(b, decls, plain({ kind: 'typedef', name }), new Set());
        if (!r.ok) problems.push({ path: ['types', d.index, 'type'], message: r.reason });
      }
    }
    const attrs = buildFunctions(b, decls, o.functions, i, problems);
    if (o.kind === 'vmlinux') {
      baseKeys = b.keys;
      baseEnd = b.first + b.types.length;
    }
    out.push({
      btf: { name: o.name, kind: o.kind, firstTypeId: b.first, types: b.types },
      loaded: o.kind === 'module' ? (o.loaded ?? true) : true,
      attrs,
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: out };
};
