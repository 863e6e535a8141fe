import {
  describeFunction,
  formatFuncSignature,
  listFuncs,
  writeFunctionsJson,
} from '@tramway/shared/btf';
import type { CommandRun } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import { formatDocument } from '../output.js';
import { loadBtfSources } from './kernel-functions.options.js';

/**
 * `tramway kernel functions [--btf FILE [--base FILE]] [--root DIR] [--json]`: every FUNC of the
 * host's BTF (vmlinux, then each module) or of a saved blob, with linkage and prototype as C.
 * With `-o json` (`--json`), an array of `{ name, object, btfId, linkage, ret, params: [{ name, type }] }`.
 * Exit 2 when a given file is unreadable or not BTF (file and byte offset on stderr); exit 1
 * when some host BTF could not be read (listed on stderr, the rest is printed).
 */
export const runKernelFunctions: CommandRun = async (parsed, io) => {
  positionalsOf(parsed, []);
  // the JSON listing reads each type once: the host's vmlinux is scanned, not parsed
  const sources = await loadBtfSources(io, parsed, {
    kallsyms: false,
    btfOnly: true,
    scan: parsed.output === 'json',
  });
  if (!sources) return 2;
  // with --base, list the split object's own functions; the base is context only
  const listed =
    parsed.values.has('--btf') && parsed.values.has('--base')
      ? sources.spaces.slice(1)
      : sources.spaces;
  if (parsed.output === 'json') {
    // one JSON object per line inside the array: valid JSON that greps well; written as bytes
    // in large chunks, without an object per function (what made the listing slow)
    const decoder = new TextDecoder();
    writeFunctionsJson(
      sources.scanned ? [sources.scanned] : listed,
      io.stdoutBytes ?? ((bytes) => io.stdout(decoder.decode(bytes, { stream: true }))),
    );
  } else if (parsed.output === 'yaml') {
    const all = listed.flatMap((space) =>
      listFuncs(space).map(({ id, func }) => describeFunction(space, id, func)),
    );
    io.stdout(formatDocument('yaml', all));
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
  return btfProblems.length > 0 || (sources.spaces.length === 0 && !sources.scanned) ? 1 : 0;
};
