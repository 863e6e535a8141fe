import type { FunctionPattern } from '@tramway/shared/btf';
import type { MultiLinkProfile } from '@tramway/shared/lib';
import { isKernelProfile, parseAttachName } from '@tramway/shared/lib';
import { parseFunctionPattern, probeFeatures } from '@tramway/shared/btf';
import { resolveFunctionPatterns } from '@tramway/shared/domain';
import type { KernelObjectInput, KernelProfile } from '@tramway/shared/kernel';
import { createKernel } from '@tramway/shared/kernel';
import { hostKernelObjects } from '@tramway/shared/host';
import type { CommandRun } from '../cli-command.js';
import { isStructured } from '../output-format.js';
import { formatDocument } from '../output.js';
import { UsageError } from '../cli-command.js';
import { loadBtfSources } from './kernel-functions.options.js';

const parseReads = (text: string): (number | 'ret')[] =>
  text.split(',').map((part) => {
    const p = part.trim();
    if (p === 'ret') return 'ret';
    if (/^\d+$/.test(p) && Number(p) < 64) return Number(p);
    throw new UsageError(`--reads: '${p}' is neither an argument index (0-63) nor 'ret'`);
  });

/**
 * `tramway kernel resolve PATTERN... --attach TYPE [--origin NAME] [--reads 0,1,ret]
 * [--profile v24|v26] [--btf FILE [--base FILE]] [--root DIR] [--json]`: which functions the
 * patterns match on this node (or in a saved blob) and, for each, whether a program of that
 * attach type could attach, with the kernel model's errno and reason when not. The kernel is
 * simulated on top of the real BTF and symbols (shadow mode); the profile defaults to the
 * probed one, and to v26 when the kernel has no multi-link (said in the output).
 * Exit 0 when every pattern matched and every match is attachable, 1 otherwise, 2 on bad usage
 * or a bad file.
 */
export const runKernelResolve: CommandRun = async (parsed, io) => {
  const attach = parsed.values.get('--attach');
  if (attach === undefined) throw new UsageError('--attach is required (e.g. fentry.multi)');
  if (parseAttachName(attach) === null)
    throw new UsageError(
      `--attach '${attach}': expected fentry|fexit|fmod_ret|fsession, optionally .multi and .s`,
    );
  if (parsed.positionals.length === 0) throw new UsageError('needs at least one PATTERN');
  const patterns: FunctionPattern[] = [];
  for (const text of parsed.positionals) {
    const p = parseFunctionPattern(text);
    if (!p.ok) throw new UsageError(p.error);
    patterns.push(p.value);
  }
  const readsText = parsed.values.get('--reads');
  const reads = readsText === undefined ? [] : parseReads(readsText);
  const profileArg = parsed.values.get('--profile');
  if (profileArg !== undefined && !isKernelProfile(profileArg))
    throw new UsageError(`--profile '${profileArg}': expected v24 or v26`);
  const origin = parsed.values.get('--origin');

  const sources = await loadBtfSources(io, parsed, { kallsyms: !parsed.values.has('--btf') });
  if (!sources) return 2;
  const vmlinux = sources.spaces[0];
  if (!vmlinux) {
    for (const u of sources.unreadable) io.stderr(`${u.path}: ${u.reason}\n`);
    io.stderr('no readable vmlinux BTF: nothing to resolve against\n');
    return 1;
  }
  const kallsyms = sources.facts?.kallsyms;
  const probed: MultiLinkProfile = probeFeatures({
    vmlinux: vmlinux.object,
    ...(kallsyms ? { hasSymbol: (n: string) => kallsyms.byName.has(n) } : {}),
  }).profile;
  const profile: KernelProfile = profileArg ?? (probed === 'none' ? 'v26' : probed);
  const objects: readonly KernelObjectInput[] = sources.facts
    ? hostKernelObjects(
        { vmlinux, modules: sources.spaces.slice(1), unreadable: [] },
        sources.facts,
      )
    : sources.spaces.map((s) => ({ btf: s.object, loaded: true, attrs: () => ({}) }));
  const state = createKernel({ profile, objects });
  const result = resolveFunctionPatterns(
    state,
    objects.map((o) => o.btf),
    patterns,
    { attach, reads, ...(origin === undefined ? {} : { origin }) },
  );
  const attachable = result.targets.filter((t) => t.ok).length;
  const summary = {
    matched: result.targets.length,
    attachable,
    refused: result.targets.length - attachable,
    unmatchedPatterns: result.unmatched.length,
  };
  const symbols = sources.facts ? 'host' : 'assumed (a saved blob has no symbol table)';
  if (isStructured(parsed.output))
    io.stdout(
      formatDocument(parsed.output, {
        profile,
        probedProfile: probed,
        attach,
        reads,
        symbols,
        loads: result.loads,
        targets: result.targets,
        unmatched: result.unmatched,
        summary,
      }),
    );
  else {
    const out: string[] = [];
    out.push(
      `profile ${profile}${profileArg === undefined && probed === 'none' ? ' (simulated: this kernel has no tracing multi-link)' : ''}, attach ${attach}${reads.length > 0 ? `, reads ${reads.join(',')}` : ''}, symbols ${symbols}`,
    );
    for (const l of result.loads)
      out.push(
        `load against ${l.object}${l.origin === undefined ? '' : ` (origin ${l.origin})`}: ${l.ok ? 'ok' : `${l.errno} ${l.reason}`}`,
      );
    for (const t of result.targets)
      out.push(
        `${(t.ok ? 'ok' : t.errno).padEnd(10)} ${t.object}:${t.name} [${t.btfId}]${t.ok ? '' : `: ${t.reason}`}`,
      );
    for (const u of result.unmatched) out.push(`unmatched  ${u.pattern}: ${u.reason}`);
    out.push(
      `${summary.matched} matched, ${summary.attachable} attachable, ${summary.refused} refused, ${summary.unmatchedPatterns} pattern(s) unmatched`,
    );
    io.stdout(`${out.join('\n')}\n`);
  }
  return summary.refused === 0 && summary.unmatchedPatterns === 0 ? 0 : 1;
};
