/**
 * The embedded fleet's description (examples/fleet/fleet.yaml): the simulated nodes, each with its
 * labels and sim kernel spec file, and the policy the demo applies. Untrusted input: every problem
 * is named with the file and the field path.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { KernelSpec } from '@tramway/shared/kernel';
import type { Result } from '@tramway/shared/lib';
import { err, ok } from '@tramway/shared/lib';
import { createSimKernel, parseSimKernelFile } from '@tramway/agent';

/** examples/fleet/fleet.yaml in this checkout (works from any working directory). */
export const DEFAULT_FLEET_FILE = fileURLToPath(
  new URL('../../../examples/fleet/fleet.yaml', import.meta.url),
);

export interface EmbeddedNodeSpec {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly kernel: KernelSpec;
  /**
   * false: the node's kernel has no tracing multi-link (the agent falls back to one fentry link
   * per function, ARCHITECTURE.md "fallback ladder"); default true
   */
  readonly multiLink: boolean;
  /** the kernel spec file, for messages */
  readonly kernelFile: string;
}

export interface FleetFile {
  readonly file: string;
  readonly nodes: readonly EmbeddedNodeSpec[];
  /** absolute path of the policy the demo applies */
  readonly policy: string;
}

const LABEL = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;

const FLEET_SCHEMA = z.strictObject({
  policy: z.string().min(1),
  nodes: z
    .array(
      z.strictObject({
        id: z.string().regex(/^[A-Za-z0-9_:@-]+$/, 'letters, digits and _:@- only'),
        labels: z
          .record(z.string().regex(LABEL, 'a label key'), z.string().regex(LABEL, 'a label value'))
          .default({}),
        kernel: z.string().min(1),
        /** absent: the kernel file's `multiLink` (default true) */
        multiLink: z.boolean().optional(),
      }),
    )
    .min(1, 'at least one node'),
});

const pathText = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (acc, k) =>
      typeof k === 'number' ? `${acc}[${k}]` : acc === '' ? String(k) : `${acc}.${String(k)}`,
    '',
  );

const readYaml = (file: string): Result<unknown, string> => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return err(`${file}: cannot read: ${code === 'ENOENT' ? 'no such file' : String(error)}`);
  }
  try {
    return ok(parseYaml(text) as unknown);
  } catch (error) {
    return err(`${file}: not YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
};

/** Reads a fleet file and every kernel spec it names (paths relative to the fleet file). */
export const loadFleetFile = (file: string): Result<FleetFile, readonly string[]> => {
  const doc = readYaml(file);
  if (!doc.ok) return err([doc.error]);
  const parsed = FLEET_SCHEMA.safeParse(doc.value);
  if (!parsed.success)
    return err(
      parsed.error.issues.map((i) => `${file}: ${pathText(i.path) || '(document)'}: ${i.message}`),
    );
  const base = dirname(file);
  const problems: string[] = [];
  const nodes: EmbeddedNodeSpec[] = [];
  const seen = new Set<string>();
  for (const [i, n] of parsed.data.nodes.entries()) {
    if (seen.has(n.id)) problems.push(`${file}: nodes[${i}].id: '${n.id}' is given twice`);
    seen.add(n.id);
    const kernelFile = resolve(base, n.kernel);
    const kdoc = readYaml(kernelFile);
    if (!kdoc.ok) {
      problems.push(`${file}: nodes[${i}].kernel: ${kdoc.error}`);
      continue;
    }
    const spec = parseSimKernelFile(kdoc.value);
    if (!spec.ok) {
      problems.push(...spec.error.map((p) => `${kernelFile}: ${p}`));
      continue;
    }
    const built = createSimKernel(spec.value.spec);
    if (!built.ok) {
      problems.push(...built.error.map((p) => `${kernelFile}: ${p}`));
      continue;
    }
    nodes.push({
      id: n.id,
      labels: n.labels,
      kernel: spec.value.spec,
      multiLink: n.multiLink ?? spec.value.options.multiLink ?? true,
      kernelFile,
    });
  }
  if (problems.length > 0) return err(problems);
  return ok({ file, nodes, policy: resolve(base, parsed.data.policy) });
};
