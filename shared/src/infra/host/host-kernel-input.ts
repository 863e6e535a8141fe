import type { FunctionAttrs, KernelObjectInput } from '../../kernel/index.js';
import type { HostBtf } from './host-btf.js';
import type { HostKernelFacts } from './host-kernel.reader.js';
import { isTextSymbol } from './proc-text.parsers.js';

type SymbolFacts = Pick<HostKernelFacts, 'kallsyms' | 'errorInjection' | 'traceable' | 'modules'>;

/**
 * The kernel model's inputs for the host's real BTF (shadow mode, ARCHITECTURE.md "The kernel
 * driver on each node"): one object per parsed BTF blob, with symbol facts from the host:
 * - `hasAddress`: the function is in available_filter_functions when that list is readable
 *   (ftrace-able, spec §1.1), else kallsyms has a text symbol of that name in that object; with
 *   neither readable, assumed true;
 * - `errorInjectable`: on the error-injection list (false when the list is unreadable);
 * - `securityHook`: the model's default (name starts with `security_`).
 * The deny lists (btf_id_deny, `__noreturn`, non-sleepable error-inject, fmodret sets) are not
 * exported by the kernel, so they stay false. A module is loaded unless /proc/modules says it
 * is not live.
 */
export const hostKernelObjects = (
  btf: HostBtf,
  facts: SymbolFacts,
): readonly KernelObjectInput[] => {
  if (!btf.vmlinux) return [];
  const injectable = new Set((facts.errorInjection ?? []).map((e) => e.name));
  const traceable = facts.traceable
    ? new Set(facts.traceable.map((f) => `${f.module ?? 'vmlinux'}\0${f.name}`))
    : undefined;
  const { kallsyms } = facts;
  const addressIn =
    (object: string) =>
    (name: string): boolean => {
      if (traceable) return traceable.has(`${object}\0${name}`);
      if (!kallsyms) return true;
      const entries = kallsyms.byName.get(name);
      if (!entries) return false;
      return entries.some(
        (e) =>
          isTextSymbol(e) && (object === 'vmlinux' ? e.module === undefined : e.module === object),
      );
    };
  const attrsFor =
    (object: string) =>
    (name: string): Partial<FunctionAttrs> => ({
      hasAddress: addressIn(object)(name),
      errorInjectable: injectable.has(name),
    });
  const states = new Map((facts.modules ?? []).map((m) => [m.name, m.state]));
  return [
    { btf: btf.vmlinux.object, loaded: true, attrs: attrsFor('vmlinux') },
    ...btf.modules.map((m) => ({
      btf: m.object,
      loaded: (states.get(m.object.name) ?? 'live') === 'live',
      attrs: attrsFor(m.object.name),
    })),
  ];
};
