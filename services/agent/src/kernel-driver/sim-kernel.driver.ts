import type { FunctionPattern, MultiLinkProfile } from '@tramway/shared/btf';
import {
  indexFunctions,
  parseFunctionPattern,
  probeFeatures,
  resolveFunctionPatterns,
} from '@tramway/shared/btf';
import type {
  KernelObjectInput,
  KernelSpec,
  KernelState,
  SpecProblem,
} from '@tramway/shared/kernel';
import { applyOp, buildKernel, dumpState } from '@tramway/shared/kernel';
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
      if (!outcome.ok) return { ok: false, errno: outcome.errno, reason: outcome.reason };
      state = outcome.state;
      return { ok: true, value: outcome.value };
    },
    dump: () => Promise.resolve(dumpState(state)),
    close: () => {
      closed = true;
      return Promise.resolve(undefined);
    },
  };
};

/**
 * `sim`: the pure kernel model on BTF from a fixture or a spec. The attach path is derived from
 * the fixture's own enums, as on a real node; `probedProfile` says what that BTF claims.
 */
export const createSimKernelDriver = (input: {
  readonly state: KernelState;
  readonly objects: readonly KernelObjectInput[];
}): KernelDriver => {
  const vmlinux = input.objects.find((o) => o.btf.kind === 'vmlinux');
  const probe = vmlinux ? probeFeatures({ vmlinux: vmlinux.btf }) : undefined;
  const probedProfile: MultiLinkProfile = probe?.profile ?? 'none';
  return createModelKernelDriver({
    ...input,
    facts: {
      mode: 'sim',
      probedProfile,
      attachPath: probe?.path ?? 'none',
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
  return { ok: true, value: createSimKernelDriver({ state, objects }) };
};
