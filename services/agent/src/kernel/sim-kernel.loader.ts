/**
 * The `sim` node kernel from a kernel spec file (SIM_KERNEL: YAML or JSON, the declarations of
 * kernel-scenarios.md: profile, limits, types, objects with their functions; and `multiLink:
 * false` for a node whose kernel has no tracing multi-link). The file is untrusted: its shape is
 * checked here, with every problem named by field path.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { KernelObjectInput, KernelSpec } from '@tramway/shared/kernel';
import { buildKernel } from '@tramway/shared/kernel';
import type { Result } from '@tramway/shared/lib';
import { err, ok } from '@tramway/shared/lib';
import type { SimKernelOptions } from '../kernel-driver/index.js';
import { createSimKernelDriver } from '../kernel-driver/index.js';
import type { AgentKernel } from './agent-kernel.js';
import { agentKernel } from './agent-kernel.js';

const param = z.union([
  z.string().min(1),
  z.strictObject({ type: z.string().min(1), name: z.string().optional() }),
]);
const fn = z.strictObject({
  name: z.string().min(1),
  ret: z.string().min(1),
  params: z.array(param),
  errorInjectable: z.boolean().optional(),
  nonSleepable: z.boolean().optional(),
  fmodret: z.boolean().optional(),
  fmodretSleepable: z.boolean().optional(),
  securityHook: z.boolean().optional(),
  denyListed: z.boolean().optional(),
  noreturn: z.boolean().optional(),
  address: z.boolean().optional(),
  btfId: z.int().positive().optional(),
});
const typeDecl = z.union([
  z.strictObject({
    kind: z.enum(['struct', 'union']),
    name: z.string().min(1),
    size: z.int().nonnegative(),
    members: z.int().nonnegative(),
  }),
  z.strictObject({
    kind: z.literal('enum'),
    name: z.string().min(1),
    size: z.int().positive(),
    values: z.int().nonnegative(),
  }),
  z.strictObject({ kind: z.literal('typedef'), name: z.string().min(1), type: z.string().min(1) }),
]);
const KERNEL_SPEC_SCHEMA = z.strictObject({
  profile: z.enum(['v24', 'v26']),
  /** false: the node has no tracing multi-link (sim option, not part of the model's spec) */
  multiLink: z.boolean().optional(),
  limits: z
    .strictObject({ maxTrampLinks: z.int().positive(), maxMultiCount: z.int().positive() })
    .partial()
    .optional(),
  types: z.array(typeDecl).optional(),
  objects: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        kind: z.enum(['vmlinux', 'module', 'user']),
        loaded: z.boolean().optional(),
        functions: z.array(fn),
      }),
    )
    .min(1),
});

const pathText = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (acc, k) =>
      typeof k === 'number' ? `${acc}[${k}]` : acc === '' ? String(k) : `${acc}.${String(k)}`,
    '',
  );

/** A parsed sim kernel file: the model's spec and the node's sim options. */
export interface SimKernelFile {
  readonly spec: KernelSpec;
  readonly options: SimKernelOptions;
}

/** Checks the shape of a parsed spec document; problems as `field.path: message`. */
export const parseSimKernelFile = (doc: unknown): Result<SimKernelFile, readonly string[]> => {
  const parsed = KERNEL_SPEC_SCHEMA.safeParse(doc);
  if (!parsed.success)
    return err(parsed.error.issues.map((i) => `${pathText(i.path) || '(document)'}: ${i.message}`));
  const { multiLink, ...spec } = parsed.data;
  return ok({ spec: spec as KernelSpec, options: multiLink === undefined ? {} : { multiLink } });
};

/** The model's spec of a spec document (its sim options dropped). */
export const parseKernelSpec = (doc: unknown): Result<KernelSpec, readonly string[]> => {
  const parsed = parseSimKernelFile(doc);
  return parsed.ok ? ok(parsed.value.spec) : parsed;
};

/** A model kernel from a spec; the model's own problems carry their paths. */
export const createSimKernel = (
  spec: KernelSpec,
  options: SimKernelOptions = {},
): Result<AgentKernel, readonly string[]> => {
  const built = buildKernel(spec);
  if (!built.ok) return err(built.error.map((p) => `${pathText(p.path)}: ${p.message}`));
  const state = built.value;
  const objects: KernelObjectInput[] = state.templates.map((t) => ({
    btf: t.view.btf,
    loaded: t.kind !== 'module' || state.modules.get(t.name)?.state === 'live',
    attrs: t.attrs,
  }));
  return ok(agentKernel(createSimKernelDriver({ state, objects }, options)));
};

/**
 * Reads and checks a spec file (YAML or JSON); every problem names the file and the field.
 * `overrides` (SIM_MULTI_LINK) win over the file's own options.
 */
export const loadSimKernelFile = (
  file: string,
  overrides: SimKernelOptions = {},
): Result<AgentKernel, readonly string[]> => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return err([`${file}: cannot read: ${error instanceof Error ? error.message : String(error)}`]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    return err([
      `${file}: not YAML/JSON: ${error instanceof Error ? error.message : String(error)}`,
    ]);
  }
  const parsed = parseSimKernelFile(doc);
  if (!parsed.ok) return err(parsed.error.map((p) => `${file}: ${p}`));
  const kernel = createSimKernel(parsed.value.spec, { ...parsed.value.options, ...overrides });
  return kernel.ok ? kernel : err(kernel.error.map((p) => `${file}: ${p}`));
};
