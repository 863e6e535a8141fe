import type { FunctionPattern } from '@tramway/shared/btf';
import { indexFunctions, parseFunctionPattern, probeFeatures } from '@tramway/shared/btf';
import { resolveFunctionPatterns } from '@tramway/shared/domain';
import type {
  KernelObjectInput,
  KernelSpec,
  KernelState,
  SpecProblem,
} from '@tramway/shared/kernel';
import { applyOp, buildKernel, dumpState } from '@tramway/shared/kernel';
import type { MultiLinkProfile } from '@tramway/shared/lib';
import type { KernelDescription, KernelDriver } from './kernel-driver.port.js';

/**
 * A driver over the pure kernel model. It holds the current `KernelState` and replaces it with
 * each successful operation's result; a refused operation leaves it unchanged (the model's
 * all-or-nothing rule). `facts` describes the node; `objects` are the BTF objects the state was
 * built from (pattern resolution needs them).
 */
export const createModelKernelDriver = (input: {
  readonly state: KernelState;
  readonly objects: readonly KernelObjectInput[];
  readonly facts: Omit<KernelDescription, 'profile' | 'objects'>;
}): KernelDriver => {
  let state = input.state;
  let closed = false;
  const btfs = input.objects.map((o) => o.btf);
  const description: KernelDescription = {
    ...input.facts,
    profile: state.profile,
    objects: btfs.map((b) => ({
      name: b.name,
      kind: b.kind,
      functions: [...indexFunctions({ object: b }).values()].reduce((n, ids) => n + ids.length, 0),
    })),
  };
  // using a closed driver is a bug in the caller: the async methods reject
  const open = (): void => {
    if (closed) throw new Error('kernel driver is closed');
  };
  return {
    describe: () => Promise.resolve(description),
    resolve: async (patterns, program) => {
      open();
      const parsed: FunctionPattern[] = [];
      for (const text of patterns) {
        const p = parseFunctionPattern(text);
        if (!p.ok) return { ok: false, error: p.error };
        parsed.push(p.value);
      }
      return { ok: true, value: resolveFunctionPatterns(state, btfs, parsed, program) };
    },
    apply: async (op) => {
      open();
      const outcome = applyOp(state, op);
      if (!outcome.ok) {
        const { errno, reason, failedTarget } = outcome;
        return {
          ok: false,
          errno,
          reason,
          ...(failedTarget === undefined ? {} : { failedTarget }),
        };
      }
      state = outcome.state;
      return { ok: true, value: outcome.value };
    },
    dump: () => Promise.resolve(dumpState(state)),
    modules: () =>
      Promise.resolve(
        dumpState(state).modules.map((m) => ({
          name: m.name,
          state: m.state,
          btfObjId: m.state === 'unloaded' ? 0 : (state.modules.get(m.name)?.objId ?? 0),
        })),
      ),
    state: () => state,
    close: () => {
      closed = true;
      return Promise.resolve(undefined);
    },
  };
};

/** Options of a `sim` node. */
export interface SimKernelOptions {
  /**
   * false: the node's kernel has no tracing multi-link (ARCHITECTURE.md, "fallback ladder"): it
   * is described as probed profile `none` with attach path `fentry-per-function`, and the agent
   * attaches one fentry link per function. Default true: the model's profile is the node's.
   */
  readonly multiLink?: boolean;
}

/**
 * `sim`: the pure kernel model on BTF from a fixture or a spec. The fixture's own enums are
 * probed as on a real node; when they claim no multi-link (spec-built BTF declares no enums)
 * the node is described by `options.multiLink`: the model's profile, or none.
 */
export const createSimKernelDriver = (
  input: { readonly state: KernelState; readonly objects: readonly KernelObjectInput[] },
  options: SimKernelOptions = {},
): KernelDriver => {
  const multiLink = options.multiLink ?? true;
  const vmlinux = input.objects.find((o) => o.btf.kind === 'vmlinux');
  const probe = vmlinux ? probeFeatures({ vmlinux: vmlinux.btf }) : undefined;
  const probedProfile: MultiLinkProfile = !multiLink
    ? 'none'
    : probe !== undefined && probe.profile !== 'none'
      ? probe.profile
      : input.state.profile;
  const attachPath = !multiLink
    ? 'fentry-per-function'
    : probe !== undefined && probe.profile !== 'none'
      ? probe.path
      : 'tracing-multi';
  return createModelKernelDriver({
    ...input,
    facts: {
      mode: 'sim',
      ...(multiLink ? {} : { release: `sim-${input.state.profile}-no-multi-link` }),
      probedProfile,
      attachPath,
      unreadable: [],
    },
  });
};

/**
 * `sim` from a kernel spec (the declarations of kernel-scenarios.md): the model builds the BTF
 * objects and symbol facts itself. Refuses (as data) a spec with problems, each with its path.
 */
export const createSimKernelDriverFromSpec = (
  spec: KernelSpec,
  options: SimKernelOptions = {},
):
  | { readonly ok: true; readonly value: KernelDriver }
  | { readonly ok: false; readonly error: readonly SpecProblem[] } => {
  const built = buildKernel(spec);
  if (!built.ok) return { ok: false, error: built.error };
  const state = built.value;
  const objects: KernelObjectInput[] = state.templates.map((t) => ({
    btf: t.view.btf,
    loaded: true,
    attrs: t.attrs,
  }));
  return { ok: true, value: createSimKernelDriver({ state, objects }, options) };
};
