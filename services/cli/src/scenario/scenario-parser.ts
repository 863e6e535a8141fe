/**
 * Turns the text of a scenario file into a validated `Scenario`. YAML syntax errors are reported
 * with their line and column; every other problem with the path of the field. JSON files (by
 * extension) are read with the YAML parser's JSON schema, which keeps u64 integers exact (as
 * bigint) where `JSON.parse` would round them, and rejects duplicate keys.
 */
import type { Result } from '@tramway/shared/lib';
import { err } from '@tramway/shared/lib';
import { LineCounter, parseDocument } from 'yaml';
import { validateScenario } from './scenario-schema.js';
import type { Scenario } from './scenario.types.js';
import { formatFieldPath } from './scenario.types.js';

/** One line of the `FILE: WHERE: MESSAGE` report; `where` is a field path or `line L, column C`. */
export interface ScenarioFileProblem {
  readonly where: string;
  readonly message: string;
}

export const formatFileProblem = (file: string, problem: ScenarioFileProblem): string =>
  `${file}: ${problem.where}: ${problem.message}`;

const SYNTAX_MESSAGES: Readonly<Record<string, string>> = {
  MULTIPLE_DOCS: 'a scenario file holds exactly one YAML document (found a second one here)',
};

/** Parses and validates one scenario file's text; `fileName` only selects JSON vs YAML. */
export const parseScenario = (
  text: string,
  fileName: string,
): Result<Scenario, readonly ScenarioFileProblem[]> => {
  const lineCounter = new LineCounter();
  const json = fileName.toLowerCase().endsWith('.json');
  const document = parseDocument(text, {
    intAsBigInt: true,
    prettyErrors: false,
    uniqueKeys: true,
    lineCounter,
    ...(json ? { schema: 'json' as const } : {}),
  });
  if (document.errors.length > 0) {
    return err(
      document.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        const message = SYNTAX_MESSAGES[e.code] ?? e.message.split('\n')[0] ?? e.code;
        return {
          where: `line ${line}, column ${col}`,
          message: `${json ? 'JSON' : 'YAML'} syntax error: ${message}`,
        };
      }),
    );
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    // the yaml package throws only for alias expansion limits here
    const message = error instanceof Error ? error.message : String(error);
    return err([{ where: formatFieldPath([]), message: `cannot expand the document: ${message}` }]);
  }
  const result = validateScenario(data);
  if (result.ok) return result;
  return err(result.error.map((p) => ({ where: formatFieldPath(p.path), message: p.message })));
};
