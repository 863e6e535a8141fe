import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileReadProblem } from '../cli-args.js';
import type { CliIo, CommandRun } from '../cli-command.js';
import { UsageError } from '../cli-command.js';
import { formatFileProblem, parseScenario } from '../scenario/scenario-parser.js';
import { runScenario, toJson } from '../scenario/scenario-runner.js';
import { formatFieldPath } from '../scenario/scenario.types.js';

type FileOutcome = 'passed' | 'expectation-failed' | 'malformed';

const runFile = async (
  file: string,
  io: CliIo,
  indent: number | undefined,
): Promise<FileOutcome> => {
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    io.stderr(`${file}: cannot read: ${fileReadProblem(error, 'a scenario file')}\n`);
    return 'malformed';
  }
  const parsed = parseScenario(text, file);
  if (!parsed.ok) {
    for (const problem of parsed.error) io.stderr(`${formatFileProblem(file, problem)}\n`);
    return 'malformed';
  }
  const run = runScenario(parsed.value);
  if (!run.ok) {
    for (const problem of run.error) {
      io.stderr(`${file}: ${formatFieldPath(problem.path)}: ${problem.message}\n`);
    }
    return 'malformed';
  }
  io.stdout(`${toJson(run.value.document, indent)}\n`);
  for (const f of run.value.failures) {
    const reason = f.reason === null ? '' : ` (${f.reason})`;
    io.stderr(`${file}: steps[${f.index}]: expected ${f.expected}, got ${f.actual}${reason}\n`);
  }
  return run.value.failures.length === 0 ? 'passed' : 'expectation-failed';
};

/**
 * `tramway kernel run FILE...`: runs kernel scenario files (design/kernel-scenarios.md) and
 * prints one JSON document per valid file on stdout, pretty-printed unless `--compact` (then
 * one line each). Malformed files and failed expectations are reported on stderr as
 * `FILE: WHERE: MESSAGE`. Exit 0 when every expect held, 1 when one did not, 2 when any file
 * is malformed (the other files are still run).
 */
export const runKernelRun: CommandRun = async ({ positionals: files, flags }, io) => {
  if (files.length === 0) throw new UsageError('needs at least one scenario file');
  const indent = flags.has('--compact') ? undefined : 2;
  const outcomes: FileOutcome[] = [];
  for (const file of files) outcomes.push(await runFile(file, io, indent));
  if (outcomes.includes('malformed')) return 2;
  return outcomes.includes('expectation-failed') ? 1 : 0;
};
