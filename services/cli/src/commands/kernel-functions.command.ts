import { formatFuncSignature, listFuncs, writeFunctionsJson } from '@tramway/shared/btf';
import type { CliCommand } from '../cli-command.js';
import { positionalsOf, splitArgs } from '../cli-args.js';
import { loadBtfSources } from './kernel-functions.options.js';

/**
 * `tramway kernel functions [--btf FILE [--base FILE]] [--root DIR] [--json]`: every FUNC of the
 * host's BTF (vmlinux, then each module) or of a saved blob, with linkage and prototype as C.
 * With `--json`, an array of `{ name, object, btfId, linkage, ret, params: [{ name, type }] }`.
 * Exit 2 when a given file is unreadable or not BTF (file and byte offset on stderr); exit 1
 * when some host BTF could not be read (listed on stderr, the rest is printed).
 */
export const kernelFunctionsCommand: CliCommand = {
  path: ['kernel', 'functions'],
  usage: 'kernel functions [--btf FILE [--base FILE]] [--root DIR] [--json]',
  summary: 'list every BTF function with its prototype as C',
  run: async (args, io) => {
    const parsed = splitArgs(args, { flags: ['--json'], values: ['--btf', '--base', '--root'] });
    positionalsOf(parsed, []);
    const sources = await loadBtfSources(io, parsed, { kallsyms: false, btfOnly: true });
    if (!sources) return 2;
    // with --base, list the split object's own functions; the base is context only
    const listed =
      parsed.values.has('--btf') && parsed.values.has('--base')
        ? sources.spaces.slice(1)
        : sources.spaces;
    // one JSON object per line inside the array: valid JSON that greps well
    if (parsed.flags.has('--json')) {
      const decoder = new TextDecoder();
      writeFunctionsJson(
        listed,
        io.stdoutBytes ?? ((bytes) => io.stdout(decoder.decode(bytes, { stream: true }))),
      );
    } else {
      const lines: string[] = [];
      for (const space of listed)
        for (const { id, func } of listFuncs(space))
          lines.push(
            `${space.object.name}\t${id}\t${func.linkage}\t${formatFuncSignature(space, id)}`,
          );
      io.stdout(lines.length > 0 ? `${lines.join('\n')}\n` : '');
    }
    const btfProblems = sources.unreadable.filter(
      (u) => u.source === 'vmlinux-btf' || u.source === 'module-btf',
    );
    for (const u of btfProblems) io.stderr(`${u.path}: ${u.reason}\n`);
    return btfProblems.length > 0 || sources.spaces.length === 0 ? 1 : 0;
  },
};
