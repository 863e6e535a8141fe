/**
 * The `bpf` driver against the kernel this runs on, end to end, printing one JSON document:
 * the probe ladder with the real errnos, the measured trampoline budget, the kernel's BTF
 * objects, then an attach on the chosen path of `bpf_fentry_test1..N` (a cookie per target),
 * pinned, read back from the kernel (link info, fdinfo, dump), unpinned and released.
 *
 * Meant for the VM tier's guests (Debian 6.1: fentry per function; 6.12: kprobe.multi; 7.3:
 * tracing multi-link), where those paths exist; on this build host it prints the refusals.
 * The attached program is the hand-assembled cookie counter; the functions are then called once
 * each through BPF_PROG_TEST_RUN of a trivial fentry program (the kernel's test_run calls
 * bpf_fentry_test1..8), and `fired` reports each cookie's count (1 expected per function).
 *
 *   npm run -s bpf-check -w @tramway/agent -- [--functions N] [--bpffs DIR]
 *   (= tsx --conditions=@tramway/source services/agent/src/bpf-check.ts ...)
 *
 * Exit status: 0 when the path the probe chose attached and released (or no path exists and
 * every rung was refused with an errno), 1 otherwise, 2 on bad arguments.
 */
import {
  cookieCounter,
  cookieCounterMap,
  countOf,
  createBpfKernelDriver,
  watchCookie,
} from './kernel-driver/index.js';
import { kernelBtfObjects } from './kernel-driver/bpf/bpf-introspect.js';
import { TRIVIAL_PROGRAM, progLoad, progTestRun } from './kernel-driver/bpf/bpf-commands.js';
import { BpfAttachType, BpfProgType, closeFd } from './kernel-driver/bpf/bpf-syscall.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const n = Number(arg('--functions') ?? '8');
if (!Number.isInteger(n) || n < 1 || n > 8) {
  process.stderr.write('--functions: 1 to 8 (bpf_fentry_test1..8)\n');
  process.exit(2);
}
const json = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);

const counts = cookieCounterMap(64);
if (!counts.ok) {
  process.stdout.write(`${json({ ok: false, error: `map create: ${counts.name}` })}\n`);
  process.exit(1);
}
const created = await createBpfKernelDriver({
  nodeId: 'bpf-check',
  programs: () => ({ kind: 'insns', insns: cookieCounter(counts.value) }),
  ...(arg('--bpffs') === undefined ? {} : { bpffs: arg('--bpffs')! }),
});
if (!created.ok) {
  process.stdout.write(`${json({ ok: false, error: created.error })}\n`);
  process.exit(1);
}
const driver = created.value;
const d = await driver.describe();
const report: Record<string, unknown> = {
  release: d.release,
  path: d.attachPath,
  probe: d.probe?.steps,
  trampolineBudget: d.trampolineBudget ?? null,
  btfObjects: kernelBtfObjects(),
};
let ok = d.attachPath === 'none' ? (d.probe?.steps ?? []).some((s) => !s.ok) : false;
if (d.attachPath !== 'none') {
  const names = Array.from({ length: n }, (_, i) => `bpf_fentry_test${i + 1}`);
  const resolved = await driver.resolve(names, { attach: 'fentry.multi' });
  if (!resolved.ok) throw new Error(resolved.error);
  const targets = resolved.value.targets.map((t) => ({ object: t.object, btfId: t.btfId }));
  const perFunction = d.attachPath === 'fentry-per-function';
  const steps: unknown[] = [];
  const linkIds: number[] = [];
  for (const group of perFunction ? targets.map((t) => [t]) : [targets]) {
    const load = await driver.apply({
      op: 'prog_load',
      name: 'tw_check',
      attach: perFunction ? 'fentry' : 'fentry.multi',
      ...(perFunction ? { origin: group[0]! } : {}),
      reads: [],
    });
    steps.push({ op: 'prog_load', ...load });
    if (!load.ok || load.value === null || !('progId' in load.value)) break;
    for (const t of group) watchCookie(counts.value, BigInt(t.btfId) * 1000n + 7n);
    const link = await driver.apply({
      op: 'link_create',
      prog: load.value.progId,
      targets: group,
      cookies: group.map((t) => BigInt(t.btfId) * 1000n + 7n),
    });
    steps.push({ op: 'link_create', ...link });
    await driver.apply({ op: 'prog_release', prog: load.value.progId });
    if (!link.ok || link.value === null || !('linkId' in link.value)) break;
    linkIds.push(link.value.linkId);
    steps.push({
      op: 'link_pin',
      ...(await driver.apply({ op: 'link_pin', link: link.value.linkId })),
    });
    steps.push({
      op: 'fdinfo',
      ...(await driver.apply({ op: 'fdinfo', link: link.value.linkId })),
    });
  }
  const dump = await driver.dump();
  report.attached = { steps, dump };
  // call each function once: test_run of a fentry program calls bpf_fentry_test1..8
  const cookies = targets.map((t) => BigInt(t.btfId) * 1000n + 7n);
  const trigger = progLoad({
    progType: BpfProgType.TRACING,
    expectedAttachType: BpfAttachType.TRACE_FENTRY,
    attachBtfId: targets[0]!.btfId,
    insns: TRIVIAL_PROGRAM,
    name: 'tw_trigger',
  });
  if (trigger.ok) {
    const ran = progTestRun(trigger.value);
    closeFd(trigger.value);
    report.fired = {
      testRun: ran.ok ? 'ok' : ran.name,
      counts: Object.fromEntries(
        resolved.value.targets.map((t, i) => {
          const c = countOf(counts.value, cookies[i]!);
          return [t.name, c.ok ? Number(c.value) : c.name];
        }),
      ),
    };
  } else report.fired = { testRun: `trigger load: ${trigger.name}` };
  for (const id of linkIds) {
    await driver.apply({ op: 'link_unpin', link: id });
    await driver.apply({ op: 'link_release', link: id });
  }
  const after = await driver.dump();
  report.released = after.links.length === 0;
  ok =
    linkIds.length === (perFunction ? targets.length : 1) &&
    dump.links.length === linkIds.length &&
    after.links.length === 0;
}
await driver.close();
closeFd(counts.value);
report.ok = ok;
process.stdout.write(`${json(report)}\n`);
process.exit(ok ? 0 : 1);
