import {
  describeFunction,
  formatFuncSignature,
  listFuncs,
  writeFunctionsJson,
} from '@tramway/shared/btf';
import type { CommandRun } from '../cli-command.js';
import { positionalsOf } from '../cli-args.js';
import { formatDocument } from '../output.js';
import { createHash } from 'node:crypto';
import {
  copyListing,
  functionsCacheDir,
  keepListing,
  listingIdentity,
  sysfsBtfIdentity,
} from '../functions-cache.js';
import type { ListingInput } from './kernel-functions.options.js';
import { parseBtfBytes, readBtfBytes } from './kernel-functions.options.js';

/**
 * `tramway kernel functions [--btf FILE [--base FILE]] [--root DIR] [--json]`: every FUNC of the
 * host's BTF (vmlinux, then each module) or of a saved blob, with linkage and prototype as C.
 * With `-o json` (`--json`), an array of `{ name, object, btfId, linkage, ret, params: [{ name, type }] }`.
 * Exit 2 when a given file is unreadable or not BTF (file and byte offset on stderr); exit 1
 * when some host BTF could not be read (listed on stderr, the rest is printed).
 */
/** A listing's blobs identified by content: sha256 over each blob's name, length and bytes. */
const contentIdentity = (input: ListingInput): string => {
  const h = createHash('sha256');
  for (const blob of input.blobs) {
    h.update(`${blob.name}\0${blob.bytes.length}\0`);
    h.update(blob.bytes);
  }
  return `sha256 ${h.digest('hex')}`;
};

export const runKernelFunctions: CommandRun = async (parsed, io) => {
  positionalsOf(parsed, []);
  const json = parsed.output === 'json';
  // the JSON of these very BTF bytes, made by this very build, may be kept: functions-cache.ts
  const cacheDir =
    json && io.buildId !== undefined && !parsed.flags.has('--no-cache')
      ? functionsCacheDir(io.env)
      : undefined;
  // the running kernel's own BTF is known by its files' metadata, taken before they are read
  const onSysfs =
    cacheDir !== undefined && !parsed.values.has('--btf') && !parsed.values.has('--root')
      ? sysfsBtfIdentity('/')
      : undefined;
  const read = await readBtfBytes(io, parsed, { kallsyms: false, btfOnly: true });
  if (!read) return 2;
  const write =
    io.stdoutBytes ??
    (
      (decoder) => (bytes: Uint8Array) =>
        io.stdout(decoder.decode(bytes, { stream: true }))
    )(new TextDecoder());
  const identity =
    cacheDir !== undefined && read.input !== undefined
      ? listingIdentity(
          io.buildId!,
          read.input.mode,
          read.input.mode === 'host' && onSysfs !== undefined
            ? onSysfs
            : contentIdentity(read.input),
        )
      : undefined;
  if (identity !== undefined && copyListing(cacheDir!, identity, write)) return 0;
  // the JSON listing reads each type once: the host's vmlinux is scanned, not parsed
  const sources = parseBtfBytes(io, read, { scan: json });
  if (!sources) return 2;
  // with --base, list the split object's own functions; the base is context only
  const listed =
    parsed.values.has('--btf') && parsed.values.has('--base')
      ? sources.spaces.slice(1)
      : sources.spaces;
  if (json) {
    // one JSON object per line inside the array: valid JSON that greps well; written as bytes
    // in large chunks, without an object per function (what made the listing slow)
    const kept: Uint8Array[] = [];
    writeFunctionsJson(
      sources.scanned ? [sources.scanned] : listed,
      identity === undefined
        ? write
        : (bytes) => {
            kept.push(bytes);
            write(bytes);
          },
    );
    // kept unless the host's BTF files changed while they were read (a module came or went)
    if (identity !== undefined && (onSysfs === undefined || sysfsBtfIdentity('/') === onSysfs)) {
      const problem = keepListing(cacheDir!, identity, kept);
      if (problem !== undefined && io.env.TRAMWAY_DEBUG)
        io.stderr(`tramway: listing not kept in ${cacheDir}: ${problem}\n`);
    }
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
