import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import type { Linter } from 'eslint';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Each fence of eslint.config.mjs (STYLE.md §3, §5.5, §9) and of shared/tsconfig.pure.json,
 * proven to fire on a small fixture and to stay quiet on clean code. ESLint runs with the
 * repository's own configuration.
 *
 * Most fixtures are sources linted in memory at a path inside the real tree (`__fence__.ts`
 * next to real files), so the layer zones, the resolver and the package.json of that place
 * apply. The type checker does not know those files, so it is told to give them a default
 * project; no rule is changed. The import cycle and the type-checked promise rules need files
 * on disk in the linted program (tsconfig.eslint.json): those fixtures are committed under
 * test/fixtures/lint/, which the normal `npx eslint .` ignores and this test lints explicitly.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = 'test/fixtures/lint';

const VIRTUAL = {
  lib: 'shared/src/lib/__fence__.ts',
  kernel: 'shared/src/kernel/__fence__.ts',
  btf: 'shared/src/btf/__fence__.ts',
  domain: 'shared/src/domain/__fence__.ts',
  projections: 'shared/src/projections/__fence__.ts',
  contracts: 'shared/src/contracts/__fence__.ts',
  infra: 'shared/src/infra/__fence__.ts',
  agent: 'services/agent/src/__fence__.ts',
  cli: 'services/cli/src/__fence__.ts',
  embedded: 'services/embedded/src/__fence__.ts',
} as const;

/** The repository's configuration as `npx eslint .` uses it, minus the ignores (for fixtures). */
const repo = new ESLint({ cwd: ROOT, ignore: false });

/**
 * The same configuration for the virtual files, which are in no tsconfig: the type checker gives
 * them a default project instead. No rule changes.
 */
const virtual = new ESLint({
  cwd: ROOT,
  overrideConfig: {
    files: Object.values(VIRTUAL),
    languageOptions: {
      parserOptions: {
        project: false,
        projectService: {
          allowDefaultProject: Object.values(VIRTUAL),
          // one default project holds every virtual file: a handful, not the slow case it warns of
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 16,
        },
      },
    },
  },
});

const describeMessages = (messages: readonly Linter.LintMessage[]): string[] =>
  messages.map((m) => `${m.line}:${m.column} ${m.ruleId ?? 'fatal'} ${m.message}`);

const ruleIdsOf = (messages: readonly Linter.LintMessage[]): string[] =>
  [...new Set(messages.map((m) => m.ruleId ?? `fatal: ${m.message}`))].sort();

const lintAt = async (file: string, code: string): Promise<readonly Linter.LintMessage[]> => {
  const [result] = await virtual.lintText(code, { filePath: path.join(ROOT, file) });
  return result?.messages ?? [];
};

/** [fence, virtual file, source, the rules that must fire (and no other)] */
const FIRES: readonly (readonly [string, string, string, readonly string[]])[] = [
  [
    'kernel importing domain',
    VIRTUAL.kernel,
    "import { FleetStreams } from '../domain/index.js';\nexport const fence = FleetStreams;\n",
    ['import-x/no-restricted-paths'],
  ],
  [
    'kernel importing btf (btf is a leaf beside the kernel)',
    VIRTUAL.kernel,
    "import { BTF_MAGIC } from '../btf/index.js';\nexport const fence = BTF_MAGIC;\n",
    ['import-x/no-restricted-paths'],
  ],
  [
    'btf importing the kernel',
    VIRTUAL.btf,
    "import { applyOp } from '../kernel/index.js';\nexport const fence = applyOp;\n",
    ['import-x/no-restricted-paths'],
  ],
  [
    'lib importing the kernel',
    VIRTUAL.lib,
    "import { applyOp } from '../kernel/index.js';\nexport const fence = applyOp;\n",
    ['import-x/no-restricted-paths'],
  ],
  [
    'domain importing contracts',
    VIRTUAL.domain,
    "import { parsePolicy } from '../contracts/index.js';\nexport const fence = parsePolicy;\n",
    ['import-x/no-restricted-paths'],
  ],
  [
    'domain importing infra',
    VIRTUAL.domain,
    "import { silentLogger } from '../infra/index.js';\nexport const fence = silentLogger;\n",
    ['import-x/no-restricted-paths'],
  ],
  [
    'projections importing btf',
    VIRTUAL.projections,
    "import { parseBtf } from '../btf/index.js';\nexport const fence = parseBtf;\n",
    ['import-x/no-restricted-paths'],
  ],
  [
    'contracts importing infra',
    VIRTUAL.contracts,
    "import { silentLogger } from '../infra/index.js';\nexport const fence = silentLogger;\n",
    ['import-x/no-restricted-paths'],
  ],
  [
    'shared importing a service (and another workspace by relative path)',
    VIRTUAL.infra,
    "import { createAgent } from '../../../services/agent/src/index.js';\nexport const fence = createAgent;\n",
    ['import-x/no-relative-packages', 'import-x/no-restricted-paths'],
  ],
  [
    "a bare 'crypto' import in the pure zone",
    VIRTUAL.domain,
    "import { createHash } from 'crypto';\nexport const fence = createHash;\n",
    ['no-restricted-imports'],
  ],
  [
    "a bare 'fs/promises' import in the pure zone",
    VIRTUAL.kernel,
    "import { readFile } from 'fs/promises';\nexport const fence = readFile;\n",
    ['no-restricted-imports'],
  ],
  [
    'a node: import in the pure zone',
    VIRTUAL.projections,
    "import { join } from 'node:path';\nexport const fence = join;\n",
    ['no-restricted-imports'],
  ],
  [
    'rxjs in the pure zone',
    VIRTUAL.btf,
    "import { Subject } from 'rxjs';\nexport const fence = Subject;\n",
    ['no-restricted-imports'],
  ],
  [
    'process in the pure zone',
    VIRTUAL.kernel,
    "export const fence = (): string | undefined => process.env['HOME'];\n",
    ['no-restricted-globals'],
  ],
  [
    'Buffer and setTimeout in the pure zone',
    VIRTUAL.lib,
    'export const fence = (): unknown => [Buffer.alloc(1), setTimeout];\n',
    ['no-restricted-globals'],
  ],
  [
    'Date.now and Math.random in the pure zone',
    VIRTUAL.domain,
    'export const fence = (): number => Date.now() + Math.random();\n',
    ['no-restricted-properties'],
  ],
  [
    'new Date() in the pure zone',
    VIRTUAL.projections,
    'export const fence = (): Date => new Date();\n',
    ['no-restricted-syntax'],
  ],
  [
    'crypto.randomUUID in the pure zone',
    VIRTUAL.kernel,
    'export const fence = (): string => crypto.randomUUID();\n',
    ['no-restricted-globals', 'no-restricted-properties'],
  ],
  [
    'a relative import into another workspace',
    VIRTUAL.cli,
    "import { createAgent } from '../../agent/src/index.js';\nexport const fence = createAgent;\n",
    ['import-x/no-relative-packages'],
  ],
  [
    "a service importing shared's sources by relative path",
    VIRTUAL.agent,
    "import { applyOp } from '../../../shared/src/kernel/index.js';\nexport const fence = applyOp;\n",
    ['import-x/no-relative-packages'],
  ],
  [
    'an undeclared workspace dependency',
    VIRTUAL.cli,
    "import { createAgent } from '@tramway/agent';\nexport const fence = createAgent;\n",
    ['import-x/no-extraneous-dependencies'],
  ],
  [
    "a deep import into a workspace's src/",
    VIRTUAL.embedded,
    "import { createAgent } from '@tramway/agent/src/app.js';\nexport const fence = createAgent;\n",
    ['no-restricted-imports'],
  ],
  [
    'a floating promise (virtual file)',
    VIRTUAL.cli,
    'const save = async (): Promise<void> => {};\nexport const fence = (): void => {\n  save();\n};\n',
    ['@typescript-eslint/no-floating-promises'],
  ],
];

/** [case, virtual file, source]: code every fence lets through */
const PASSES: readonly (readonly [string, string, string])[] = [
  [
    'the kernel using lib',
    VIRTUAL.kernel,
    "import { ok } from '../lib/index.js';\nexport const fence = (n: number) => ok(n);\n",
  ],
  [
    'btf using lib',
    VIRTUAL.btf,
    "import { decodeUtf8 } from '../lib/index.js';\nexport const fence = decodeUtf8;\n",
  ],
  [
    'domain using the kernel and btf, with time passed in',
    VIRTUAL.domain,
    "import { applyOp } from '../kernel/index.js';\nimport { parseFunctionPattern } from '../btf/index.js';\n" +
      'export const fence = (now: number) => [applyOp, parseFunctionPattern, now];\n',
  ],
  [
    'infra using node: built-ins and every shared layer',
    VIRTUAL.infra,
    "import { readFile } from 'node:fs/promises';\nimport { parsePolicy } from '../contracts/index.js';\n" +
      "import { applyOp } from '../kernel/index.js';\nexport const fence = [readFile, parsePolicy, applyOp];\n",
  ],
  [
    'a service importing a declared workspace by name',
    VIRTUAL.embedded,
    "import { createAgent } from '@tramway/agent';\nimport { applyOp } from '@tramway/shared/kernel';\n" +
      'export const fence = [createAgent, applyOp];\n',
  ],
  [
    'an awaited and a voided promise',
    VIRTUAL.cli,
    'const save = async (): Promise<void> => {};\n' +
      'export const fence = async (): Promise<void> => {\n  await save();\n  void save();\n};\n',
  ],
];

describe('lint fences', () => {
  it.each(FIRES)('refuses %s', async (_fence, file, code, rules) => {
    const messages = await lintAt(file, code);
    expect(ruleIdsOf(messages), describeMessages(messages).join('\n')).toEqual([...rules].sort());
  });

  it.each(PASSES)('lets %s through', async (_case, file, code) => {
    const messages = await lintAt(file, code);
    expect(describeMessages(messages)).toEqual([]);
  });

  it('refuses an import cycle, on both of its files', async () => {
    const results = await repo.lintFiles([`${FIXTURES}/cycle/*.ts`]);
    expect(results.map((r) => path.relative(ROOT, r.filePath)).sort()).toEqual([
      `${FIXTURES}/cycle/ping.ts`,
      `${FIXTURES}/cycle/pong.ts`,
    ]);
    for (const r of results)
      expect(describeMessages(r.messages)).toEqual([
        expect.stringMatching(/^\d+:1 import-x\/no-cycle /),
      ]);
  });

  it('refuses a floating promise and an async callback where a void one is expected', async () => {
    const [result] = await repo.lintFiles([`${FIXTURES}/promises.ts`]);
    expect(
      (result?.messages ?? []).map((m) => `${m.line} ${m.ruleId ?? m.message}`),
      describeMessages(result?.messages ?? []).join('\n'),
    ).toEqual([
      '7 @typescript-eslint/no-floating-promises',
      '12 @typescript-eslint/no-misused-promises',
    ]);
  });

  it('keeps the broken-on-purpose fixtures out of the normal lint run', async () => {
    const normal = new ESLint({ cwd: ROOT });
    expect(await normal.isPathIgnored(path.join(ROOT, FIXTURES, 'promises.ts'))).toBe(true);
    expect(await normal.isPathIgnored(path.join(ROOT, 'shared/src/kernel/index.ts'))).toBe(false);
  });
});

describe('pure type-check (shared/tsconfig.pure.json)', () => {
  it('knows no host global: process, Buffer, TextDecoder, setTimeout', () => {
    const configFile = path.join(ROOT, 'shared/tsconfig.pure.json');
    const read = ts.readConfigFile(configFile, (f) => ts.sys.readFile(f));
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, path.dirname(configFile));
    expect(parsed.errors).toEqual([]);
    const program = ts.createProgram({
      rootNames: [path.join(ROOT, FIXTURES, 'pure-zone-host-globals.ts')],
      options: parsed.options,
    });
    const missing = ts
      .getPreEmitDiagnostics(program)
      .map(
        (d) =>
          /Cannot find name '(\w+)'/.exec(
            ts.flattenDiagnosticMessageText(d.messageText, '\n'),
          )?.[1],
      )
      .sort();
    expect(missing).toEqual(['Buffer', 'TextDecoder', 'process', 'setTimeout']);
  });
});
