/**
 * `tramway program push|list|inspect`: compiled BPF objects, content addressed on the
 * coordinator (ARCHITECTURE.md, "Programs"). A policy names one by the digest push prints
 * (`spec.program.object`) and the program inside it by name (`spec.program.name`).
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CommandRun } from '../cli-command.js';
import { fileReadProblem, positionalsOf } from '../cli-args.js';
import type { ProgramObjectView } from '../fleet/coordinator-client.js';
import {
  FleetExit,
  answerWith,
  clientOf,
  parseFleetArgs,
  writeError,
} from '../fleet/fleet-options.js';
import type { TableStyle } from '../output.js';
import { renderTable } from '../output.js';

/** As the coordinator's bound (MAX_PROGRAM_OBJECT_BYTES): a larger file is not sent. */
const MAX_OBJECT_BYTES = 8 << 20;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** NAME SECTION ATTACH (and TARGET, INSNS with -o wide) of an object's programs. */
const programsTable = (o: ProgramObjectView, style: TableStyle): string =>
  style.wide
    ? renderTable(
        ['NAME', 'SECTION', 'ATTACH', 'SLEEPABLE', 'TARGET', 'INSNS'],
        o.programs.map((p) => [
          p.name,
          p.section,
          p.attach,
          p.sleepable ? 'yes' : 'no',
          p.target ?? null,
          String(p.instructions),
        ]),
      )
    : renderTable(
        ['NAME', 'SECTION', 'ATTACH'],
        o.programs.map((p) => [p.name, p.section, p.attach]),
        style.width,
      );

const describeObject = (o: ProgramObjectView, style: TableStyle): string =>
  `${o.digest}\n` +
  `# ${o.size} bytes, license ${o.license ?? '(none)'}, ${o.hasBtf ? 'BTF' : 'no BTF'}${o.hasBtfExt ? ' + BTF.ext' : ''}, stored ${o.storedAt}\n` +
  programsTable(o, style);

/**
 * `tramway program push FILE.bpf.o` (operator): checks the file is a BPF object here, sends it,
 * prints the digest to name in a policy and the programs it holds.
 */
export const runProgramPush: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const [file] = positionalsOf(args, ['FILE']);
  const path = resolve(io.cwd, file!);
  let bytes: Uint8Array;
  try {
    const size = (await stat(path)).size;
    if (size > MAX_OBJECT_BYTES) {
      writeError(
        io,
        args,
        'program push',
        'InvalidFile',
        `${file}: ${size} bytes, more than the ${MAX_OBJECT_BYTES} a program object may have`,
      );
      return FleetExit.Usage;
    }
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    writeError(
      io,
      args,
      'program push',
      'InvalidFile',
      `${file}: cannot read: ${fileReadProblem(error, 'a BPF object')}`,
    );
    return FleetExit.Usage;
  }
  // the same reading the coordinator does, here first: a wrong file is named without a round trip
  const { formatBpfObjectError, readBpfObject } = await import('@tramway/shared/btf');
  const read = readBpfObject(bytes);
  if (!read.ok) {
    writeError(
      io,
      args,
      'program push',
      'InvalidProgramObject',
      `${file}: ${formatBpfObjectError(read.error)}`,
    );
    return FleetExit.Usage;
  }
  return answerWith(
    io,
    args,
    'program push',
    clientOf(args).pushProgram(bytes),
    (o, style) =>
      `${o.created === false ? `# already stored: ${file}\n` : `# stored: ${file}\n`}` +
      describeObject(o, style),
  );
};

/** `tramway program list`: every stored object, its size and programs. */
export const runProgramList: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  positionalsOf(args, []);
  return answerWith(io, args, 'program list', clientOf(args).programs(), (objects, style) =>
    objects.length === 0
      ? 'no program objects (tramway program push FILE.bpf.o)\n'
      : renderTable(
          style.wide
            ? ['DIGEST', 'SIZE', 'LICENSE', 'STORED', 'PROGRAMS']
            : ['DIGEST', 'SIZE', 'PROGRAMS'],
          objects.map((o) => {
            const programs = o.programs.map((p) => `${p.name} (${p.attach})`).join(', ');
            // the short digest is enough to tell objects apart in a table; -o wide: all of it
            const digest = style.wide ? o.digest : `${o.digest.slice(0, 19)}…`;
            return style.wide
              ? [digest, String(o.size), o.license ?? null, o.storedAt, programs]
              : [digest, String(o.size), programs];
          }),
          style.wide ? undefined : style.width,
        ),
  );
};

/** `tramway program inspect DIGEST`: one stored object's programs, sections, attach types. */
export const runProgramInspect: CommandRun = async (parsed, io) => {
  const args = parseFleetArgs(parsed, io);
  const [digest] = positionalsOf(args, ['DIGEST']);
  if (!DIGEST.test(digest!)) {
    writeError(
      io,
      args,
      'program inspect',
      'InvalidRequest',
      `'${digest}' is not a digest: sha256: and 64 lowercase hex digits, as tramway program push printed it`,
    );
    return FleetExit.Usage;
  }
  return answerWith(io, args, 'program inspect', clientOf(args).program(digest!), describeObject);
};
