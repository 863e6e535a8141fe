/**
 * The `sim` node kernel from a kernel spec file (SIM_KERNEL: YAML or JSON, the declarations of
 * kernel-scenarios.md: profile, limits, types, objects with their functions; and `multiLink:
 * false` for a node whose kernel has no tracing multi-link). The file is untrusted: it is
 * checked by the kernel-spec contract (`@tramway/shared/contracts`), as `tramway kernel run`
 * checks scenario files, with every problem named by field path.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseKernelSpecDocument } from '@tramway/shared/contracts';
import type { KernelObjectInput, KernelSpec } from '@tramway/shared/kernel';
import { buildKernel } from '@tramway/shared/kernel';
import type { Result } from '@tramway/shared/lib';
import { err, ok } from '@tramway/shared/lib';
import type { SimKernelOptions } from '../kernel-driver/index.js';
import { createSimKernelDriver } from '../kernel-driver/index.js';
import type { AgentKernel } from './agent-kernel.js';
import { agentKernel } from './agent-kernel.js';

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

/**
 * Checks a parsed spec document; problems as `field.path: message`. A node's kernel has types
 * nobody declares: a pointer to an undeclared struct or union is opaque, as the model builds it.
 */
export const parseSimKernelFile = (doc: unknown): Result<SimKernelFile, readonly string[]> => {
  const { result } = parseKernelSpecDocument(
    doc,
    { trailing: { multiLink: z.boolean().exactOptional() } },
    { opaqueStructPointers: true },
  );
  if (!result.ok)
    return err(result.error.map((p) => `${pathText(p.path) || '(document)'}: ${p.message}`));
  const { multiLink } = result.value.extra;
  return ok({
    spec: result.value.spec,
    options: multiLink === undefined ? {} : { multiLink },
  });
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
