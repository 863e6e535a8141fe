import type { FeatureProbe } from '@tramway/shared/btf';
import { indexFunctions, probeFeatures } from '@tramway/shared/btf';
import type { CommandRun } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import { isStructured } from '../output-format.js';
import { formatDocument } from '../output.js';
import { loadBtfSources } from './kernel-functions.options.js';

/**
 * `tramway kernel probe [--json] [--root DIR]`: what this node's kernel offers for tracing
 * multi-links: release, BTF objects with function counts, the multi-link profile, the attach
 * path chosen from the fallback ladder, and what could not be read (never a crash). Exit 0 when
 * the vmlinux BTF was readable, 1 otherwise.
 */
export const runKernelProbe: CommandRun = async (parsed, io) => {
  positionalsOf(parsed, []);
  const sources = await loadBtfSources(io, parsed, { kallsyms: true });
  if (!sources) return 2;
  const facts = sources.facts;
  const kallsyms = facts?.kallsyms;
  const vmlinux = sources.spaces[0];
  const probe: FeatureProbe | undefined = vmlinux
    ? probeFeatures({
        vmlinux: vmlinux.object,
        ...(kallsyms ? { hasSymbol: (name: string) => kallsyms.byName.has(name) } : {}),
      })
    : undefined;
  const btf = sources.spaces.map((s) => ({
    name: s.object.name,
    kind: s.object.kind,
    firstTypeId: s.object.firstTypeId,
    types: s.object.types.length,
    functions: [...indexFunctions(s).values()].reduce((n, ids) => n + ids.length, 0),
  }));
  const report = {
    release: facts?.release ?? null,
    bootId: facts?.bootId ?? null,
    btf,
    profile: probe?.profile ?? 'none',
    path: probe?.path ?? 'none',
    ladder: probe?.ladder ?? [],
    attachTypes: probe?.attachTypes ?? {},
    linkTypes: probe?.linkTypes ?? {},
    symbolSource: probe?.symbolSource ?? null,
    kallsyms: kallsyms
      ? { symbols: kallsyms.count, addressesHidden: kallsyms.addressesHidden }
      : null,
    modules: facts?.modules ?? null,
    errorInjectable: facts?.errorInjection?.length ?? null,
    traceable: facts?.traceable?.length ?? null,
    unreadable: sources.unreadable,
  };
  if (isStructured(parsed.output)) io.stdout(formatDocument(parsed.output, report));
  else {
    const out: string[] = [];
    const row = (k: string, v: string): void => void out.push(`${k.padEnd(16)} ${v}`);
    row('kernel release', report.release ?? '(unreadable)');
    if (btf.length === 0) row('btf objects', '(none readable)');
    for (const [i, b] of btf.entries())
      row(
        i === 0 ? 'btf objects' : '',
        `${b.name} (${b.kind}, ${b.types} types from id ${b.firstTypeId}, ${b.functions} functions)`,
      );
    row('multi-link', report.profile);
    row('attach path', report.path);
    for (const step of report.ladder)
      out.push(`  ${step.available ? 'yes' : 'no '} ${step.path.padEnd(20)} ${step.why}`);
    row(
      'kallsyms',
      report.kallsyms
        ? `${report.kallsyms.symbols} symbols${report.kallsyms.addressesHidden ? ' (addresses hidden)' : ''}`
        : '(unreadable)',
    );
    row('modules', report.modules ? String(report.modules.length) : '(unreadable)');
    row(
      'error-inject',
      report.errorInjectable === null ? '(unreadable)' : String(report.errorInjectable),
    );
    row('traceable', report.traceable === null ? '(unreadable)' : String(report.traceable));
    if (report.unreadable.length > 0) {
      out.push('could not read:');
      for (const u of report.unreadable)
        out.push(`  ${u.source.padEnd(20)} ${u.path}: ${u.reason}`);
    }
    io.stdout(`${out.join('\n')}\n`);
  }
  return vmlinux ? 0 : 1;
};
