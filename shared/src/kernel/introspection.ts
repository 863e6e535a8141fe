/**
 * What can be seen from outside: fdinfo text (spec §4.3), the state dump
 * (kernel-scenarios.md `state`), and the invariant checker (spec §1.2, STYLE §5.6).
 */
import { attachTypeOf } from '../lib/kernel-vocabulary.js';
import type { AttachType, KernelProfile } from '../lib/kernel-vocabulary.js';
import type { Conn, KernelState, Link, Prog, Tramp, TrampKey } from './kernel-state.js';
import type { InvariantViolation, StateDump, TrampolineSlotDump } from './kernel-types.js';

/**
 * Numeric attach types printed by fdinfo. ML: BPF_TRACE_FENTRY 24, BPF_TRACE_FEXIT 25,
 * BPF_MODIFY_RETURN 26. V24 multi: 56/57/58 (spec §4.3, appended after NETKIT_PEER = 55).
 * V26 multi: not given by the spec; chosen 59/60/61 for FENTRY_MULTI/FEXIT_MULTI/FSESSION_MULTI,
 * appended after KPROBE_SESSION 56, UPROBE_SESSION 57 and TRACE_FSESSION 58 [inf].
 */
const ATTACH_TYPE_NUMBERS: Readonly<
  Partial<Record<`${KernelProfile | 'any'}:${AttachType}`, number>>
> = {
  'any:BPF_TRACE_FENTRY': 24,
  'any:BPF_TRACE_FEXIT': 25,
  'any:BPF_MODIFY_RETURN': 26,
  'v24:BPF_TRACE_FENTRY_MULTI': 56,
  'v24:BPF_TRACE_FEXIT_MULTI': 57,
  'v24:BPF_MODIFY_RETURN_MULTI': 58,
  'v26:BPF_TRACE_FENTRY_MULTI': 59,
  'v26:BPF_TRACE_FEXIT_MULTI': 60,
  'v26:BPF_TRACE_FSESSION_MULTI': 61,
};

/** The numeric attach type of a program (sleepable `.s` does not change it). */
export const attachTypeNumber = (state: KernelState, prog: Prog): number => {
  const type = attachTypeOf(prog.attach);
  if (type === undefined) return 0;
  return ATTACH_TYPE_NUMBERS[`${prog.multi ? state.profile : 'any'}:${type}`] ?? 0;
};

/**
 * A deterministic stand-in for the kernel's prog_tag (a hash of the instructions): FNV-1a 64 of
 * the program's name, attach type and return value, as 16 hex digits.
 */
export const progTag = (prog: Pick<Prog, 'name' | 'attach' | 'returns'>): string => {
  let h = 0xcbf29ce484222325n;
  for (const ch of `${prog.name}\u0000${prog.attach}\u0000${prog.returns}`) {
    h ^= BigInt(ch.codePointAt(0) ?? 0);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
};

/**
 * /proc/self/fdinfo of a link: the generic lines (link_type, link_id, prog_tag, prog_id), then
 * per profile (spec §4.3): single links `attach_type`, `target_obj_id`, `target_btf_id`,
 * `cookie`; V24 multi one `attach_type`/`target_obj_id`/`target_btf_id` triple per entry in
 * request order, no cookie; V26 multi `attach_type`, `cnt`, a header `obj-id btf-id cookie func`
 * and one row per node in ascending btf id. Fields are separated by a tab (the kernel's "\t").
 */
export const fdinfoText = (state: KernelState, link: Link): string => {
  const prog = state.progs.get(link.progId);
  const lines = [
    `link_type:\t${link.type}`,
    `link_id:\t${link.id}`,
    `prog_tag:\t${prog === undefined ? '0000000000000000' : progTag(prog)}`,
    `prog_id:\t${link.progId}`,
  ];
  const at = prog === undefined ? 0 : attachTypeNumber(state, prog);
  const tr = (key: TrampKey): Tramp | undefined => state.tramps.get(key);
  if (link.type === 'tracing') {
    const c = link.conns[0];
    const t = c === undefined ? undefined : tr(c.key);
    lines.push(
      `attach_type:\t${at}`,
      `target_obj_id:\t${t?.objId ?? 0}`,
      `target_btf_id:\t${t?.btfId ?? 0}`,
      `cookie:\t${c?.cookie ?? 0n}`,
    );
  } else if (state.profile === 'v24') {
    for (const c of link.conns) {
      const t = tr(c.key);
      lines.push(
        `attach_type:\t${at}`,
        `target_obj_id:\t${t?.objId ?? 0}`,
        `target_btf_id:\t${t?.btfId ?? 0}`,
      );
    }
  } else {
    lines.push(`attach_type:\t${at}`, `cnt:\t${link.conns.length}`, `obj-id\tbtf-id\tcookie\tfunc`);
    for (const c of link.conns) {
      const t = tr(c.key);
      lines.push(`${t?.objId ?? 0}\t${t?.btfId ?? 0}\t${c.cookie}\t${t?.fname ?? ''}`);
    }
  }
  return lines.map((l) => `${l}\n`).join('');
};

const connValue = (state: KernelState, key: TrampKey, cookie: bigint) => {
  const t = state.tramps.get(key);
  return { function: t?.fname ?? '', objId: t?.objId ?? 0, btfId: t?.btfId ?? 0, cookie };
};

/** The `state` op value; see StateDump for each field's meaning and sort key. */
export const dumpState = (state: KernelState): StateDump => {
  const objName = (objId: number): string => {
    const idx = state.btfs.get(objId);
    return (idx === undefined ? undefined : state.templates[idx]?.name) ?? `obj#${objId}`;
  };
  const progName = (id: number): string => state.progs.get(id)?.name ?? `prog#${id}`;
  const slots = (xs: readonly Conn[]): readonly TrampolineSlotDump[] =>
    xs.map((c) => ({ link: c.linkId, prog: progName(c.progId), cookie: c.cookie }));
  return {
    trampolines: [...state.tramps.values()]
      .sort((a, b) => a.objId - b.objId || a.btfId - b.btfId)
      .map((t) => ({
        function: t.fname,
        object: objName(t.objId),
        btfId: t.btfId,
        fentry: slots(t.fentry),
        fexit: slots(t.fexit),
        fmodRet: slots(t.fmodRet),
      })),
    modules: [...state.modules.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((m) => ({ name: m.name, state: m.state, refcount: m.refcount })),
    links: [...state.links.values()]
      .sort((a, b) => a.id - b.id)
      .map((l) => ({
        id: l.id,
        prog: l.progId,
        type: l.type,
        connections: l.conns.map((c) => connValue(state, c.key, c.cookie)),
      })),
    progs: [...state.progs.values()]
      .sort((a, b) => a.id - b.id)
      .map((p) => ({ id: p.id, name: p.name, loaded: p.loaded })),
  };
};

const count = <T>(xs: Iterable<T>, pred: (x: T) => number): number => {
  let n = 0;
  for (const x of xs) n += pred(x);
  return n;
};

/**
 * Every broken invariant: links per trampoline within maxTrampLinks; every reference count
 * (trampolines, programs, modules, BTF objects) equals its number of holders; each link is
 * connected to all of its targets (a multi link to all or none — and an existing link to none
 * would be a leak) and every list entry belongs to a live link; one program at most once per
 * list; nothing references an unloaded module or BTF object. Empty when the state is sound.
 */
export const checkInvariants = (state: KernelState): readonly InvariantViolation[] => {
  const out: InvariantViolation[] = [];
  const v = (code: InvariantViolation['code'], message: string): void => {
    out.push({ code, message });
  };
  const links = [...state.links.values()];
  const progs = [...state.progs.values()];
  const trampHolders = new Map<TrampKey, number>();
  const bump = (key: TrampKey): void => {
    trampHolders.set(key, (trampHolders.get(key) ?? 0) + 1);
  };
  for (const p of progs) if (p.dstTramp !== null) bump(p.dstTramp);
  for (const l of links) for (const c of l.conns) bump(c.key);
  const linkKeys = new Map<number, ReadonlySet<TrampKey>>(
    links.map((l) => [l.id, new Set(l.conns.map((c) => c.key))]),
  );
  for (const t of state.tramps.values()) {
    const total = t.fentry.length + t.fexit.length + t.fmodRet.length;
    if (total > state.limits.maxTrampLinks)
      v(
        'TrampolineOverBudget',
        `${t.objId}:${t.btfId} ${t.fname} has ${total} > ${state.limits.maxTrampLinks} links`,
      );
    const holders = trampHolders.get(t.key) ?? 0;
    if (t.refcnt !== holders || t.refcnt <= 0)
      v(
        'RefcountMismatch',
        `trampoline ${t.objId}:${t.btfId} refcnt ${t.refcnt} but ${holders} holders`,
      );
    if (!state.btfs.has(t.objId))
      v('DanglingReference', `trampoline ${t.objId}:${t.btfId} on unloaded BTF object ${t.objId}`);
    for (const list of ['fentry', 'fexit', 'fmodRet'] as const) {
      const seen = new Set<number>();
      for (const c of t[list]) {
        if (seen.has(c.progId))
          v('DuplicateProgOnList', `prog ${c.progId} twice on ${t.objId}:${t.btfId} ${list}`);
        seen.add(c.progId);
        const l = state.links.get(c.linkId);
        if (l === undefined || l.progId !== c.progId || !(linkKeys.get(l.id)?.has(t.key) ?? false))
          v(
            'DanglingReference',
            `${t.objId}:${t.btfId} ${list} holds a connection of link ${c.linkId} that does not own it`,
          );
      }
    }
  }
  for (const l of links) {
    const lists: readonly ('fentry' | 'fexit' | 'fmodRet')[] =
      l.kind === 'fsession' ? ['fentry', 'fexit'] : l.kind === 'fmod_ret' ? ['fmodRet'] : [l.kind];
    const connected = l.conns.filter((c) => {
      const t = state.tramps.get(c.key);
      return t !== undefined && lists.every((x) => t[x].some((y) => y.linkId === l.id));
    }).length;
    if (connected !== l.conns.length)
      v(
        'PartialMultiLink',
        `link ${l.id} is connected to ${connected} of ${l.conns.length} targets`,
      );
    if (!state.progs.has(l.progId))
      v('DanglingReference', `link ${l.id} holds freed prog ${l.progId}`);
    for (const b of l.btfRefs)
      if (!state.btfs.has(b)) v('DanglingReference', `link ${l.id} holds unloaded BTF ${b}`);
    for (const m of l.modRefs)
      if (state.modules.get(m)?.objId == null)
        v('DanglingReference', `link ${l.id} holds unloaded module ${m}`);
  }
  for (const p of progs) {
    const holders = (p.loaded ? 1 : 0) + count(links, (l) => (l.progId === p.id ? 1 : 0));
    if (p.refcnt !== holders)
      v('RefcountMismatch', `prog ${p.id} refcnt ${p.refcnt} but ${holders} holders`);
    if (p.modPin !== null && state.modules.get(p.modPin)?.objId == null)
      v('DanglingReference', `prog ${p.id} pins unloaded module ${p.modPin}`);
    if (!state.btfs.has(p.attachObjId))
      v('DanglingReference', `prog ${p.id} holds unloaded BTF ${p.attachObjId}`);
    if (p.dstTramp !== null && !state.tramps.has(p.dstTramp))
      v('DanglingReference', `prog ${p.id} holds missing trampoline ${p.dstTramp}`);
  }
  for (const m of state.modules.values()) {
    const holders =
      count(progs, (p) => (p.modPin === m.name ? 1 : 0)) +
      count(links, (l) => (l.modRefs.includes(m.name) ? 1 : 0));
    if (m.refcount !== holders)
      v('RefcountMismatch', `module ${m.name} refcount ${m.refcount} but ${holders} holders`);
    if ((m.objId === null) !== (m.state === 'unloaded'))
      v('DanglingReference', `module ${m.name} state ${m.state} with BTF object ${m.objId}`);
  }
  const btfIds = new Set([
    ...state.btfRefcnt.keys(),
    ...progs.map((p) => p.attachObjId),
    ...links.flatMap((l) => l.btfRefs),
  ]);
  for (const id of btfIds) {
    const holders =
      count(progs, (p) => (p.attachObjId === id ? 1 : 0)) +
      count(links, (l) => (l.btfRefs.includes(id) ? 1 : 0));
    const rc = state.btfRefcnt.get(id) ?? 0;
    if (rc !== holders)
      v('RefcountMismatch', `BTF object ${id} refcount ${rc} but ${holders} holders`);
  }
  return out;
};
