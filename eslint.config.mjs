import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// The fences (STYLE.md §3, §5.5, §9), each proven to fire by test/lint/fences.lint.test.ts:
// - layers inside shared/src, by resolved path (import-x/no-restricted-paths): each layer imports
//   only the layers listed in LAYERS, so lib <- kernel; btf is a leaf beside the kernel;
//   domain <- contracts / projections <- infra; and nothing in shared/ imports services or tests;
// - the pure zone (PURE_LAYERS): no Node built-in by any name, no I/O or edge package, no
//   ambient time, randomness or process (no-restricted-imports/-globals/-properties/-syntax);
//   shared/tsconfig.pure.json also type-checks it without @types/node;
// - workspaces: no relative import into another workspace (import-x/no-relative-packages), no
//   `@tramway/<pkg>/src/...` deep import, and every workspace package imported by name is a
//   declared dependency of the importer (import-x/no-extraneous-dependencies);
// - no import cycles (import-x/no-cycle; type-only imports do not count);
// - promises are awaited or explicitly voided (no-floating-promises, no-misused-promises, with
//   type information from one program over every linted file, tsconfig.eslint.json).

const ROOT = import.meta.dirname;
const SHARED_SRC = 'shared/src';

/** Each layer of shared/src and the layers it may import (besides itself). */
const LAYERS = {
  lib: [],
  kernel: ['lib'],
  btf: ['lib'],
  domain: ['lib', 'kernel', 'btf'],
  projections: ['lib', 'kernel', 'domain'],
  contracts: ['lib', 'kernel', 'btf', 'domain', 'projections'],
  infra: ['lib', 'kernel', 'btf', 'domain', 'projections', 'contracts'],
};
/** Deterministic code: takes time and ids as arguments and touches no I/O. */
const PURE_LAYERS = ['lib', 'kernel', 'btf', 'domain', 'projections'];
const PURE = PURE_LAYERS.map((layer) => `${SHARED_SRC}/${layer}/**/*.ts`);

/** The npm workspaces (shared, services/*), as directories relative to the root. */
const WORKSPACES = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  .workspaces.flatMap((pattern) =>
    pattern.endsWith('/*')
      ? readdirSync(path.join(ROOT, pattern.slice(0, -2)), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => `${pattern.slice(0, -2)}/${entry.name}`)
      : [pattern],
  )
  .filter((dir) => existsSync(path.join(ROOT, dir, 'package.json')));

const layerZones = Object.entries(LAYERS)
  .map(([layer, allowed]) => ({
    target: `./${SHARED_SRC}/${layer}`,
    from: Object.keys(LAYERS)
      .filter((other) => other !== layer && !allowed.includes(other))
      .map((other) => `./${SHARED_SRC}/${other}`),
    message: allowed.length
      ? `${layer} may import only ${allowed.join(', ')} (STYLE.md §3).`
      : `${layer} imports no other layer (STYLE.md §3).`,
  }))
  .filter((zone) => zone.from.length > 0);

const TS_FILES = ['**/*.ts'];

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.tmp/**',
      'services/cli/bin/**',
      // the CLI bundle (services/cli/build.mjs, run by `npm ci`'s prepare): generated, git-ignored
      'services/cli/bundle/**',
      'services/cli/.bundle-*/**',
      // broken on purpose; linted explicitly by the fence tests
      'test/fixtures/lint/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.js', '.mjs', '.json', '.node'],
          extensionAlias: { '.js': ['.ts', '.js'] },
          conditionNames: ['@tramway/source', 'import', 'require', 'node', 'default'],
        }),
      ],
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'separate-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    files: TS_FILES,
    languageOptions: {
      parserOptions: {
        // one program over every linted file (tsconfig.eslint.json): a quarter less CPU than the
        // project service, which builds one program per workspace tsconfig and re-checks shared
        project: ['./tsconfig.eslint.json'],
        tsconfigRootDir: ROOT,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: [`${SHARED_SRC}/**/*.ts`],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: ROOT,
          zones: [
            ...layerZones,
            {
              target: './shared',
              from: ['./services', './test', './bench'],
              message: 'shared is imported by the services and tests, never the other way.',
            },
          ],
        },
      ],
    },
  },
  {
    files: WORKSPACES.map((dir) => `${dir}/**/*.ts`),
    rules: {
      'import-x/no-relative-packages': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@tramway/[^/]+/src(/|$)',
              message: "import a workspace through its package.json 'exports', not its src/",
            },
          ],
        },
      ],
    },
  },
  ...WORKSPACES.map((dir) => ({
    files: [`${dir}/**/*.ts`],
    rules: {
      'import-x/no-extraneous-dependencies': [
        'error',
        {
          // third-party packages are installed once at the root; workspace packages must be
          // declared in the importer's own package.json
          packageDir: [ROOT, path.join(ROOT, dir)],
          devDependencies: [`${dir}/bench/**`],
          includeInternal: true,
          includeTypes: true,
        },
      ],
    },
  })),
  {
    files: PURE,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({
            name,
            message: 'pure zone: no Node built-ins (no I/O)',
          })),
          patterns: [
            { group: ['node:*'], message: 'pure zone: no Node built-ins (no I/O)' },
            {
              group: [
                'rxjs',
                'rxjs/*',
                'kysely',
                'kysely/*',
                'better-sqlite3',
                '@nats-io/*',
                'zod',
                'zod/*',
                'pino',
                'pino/*',
                'yaml',
              ],
              message: 'pure zone: no I/O, streams, wire or logging packages',
            },
            { group: ['@tramway/*'], message: 'pure zone: import other layers by relative path' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...[
          'process',
          'Buffer',
          'global',
          'require',
          '__dirname',
          '__filename',
          'setTimeout',
          'setInterval',
          'setImmediate',
          'clearTimeout',
          'clearInterval',
          'clearImmediate',
          'queueMicrotask',
          'fetch',
          'console',
          'crypto',
          'performance',
        ].map((name) => ({ name, message: `pure zone: no ambient ${name}` })),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'pure zone: time comes in as an argument' },
        { object: 'Math', property: 'random', message: 'pure zone: no ambient randomness' },
        { object: 'crypto', property: 'randomUUID', message: 'pure zone: ids come in as data' },
        { object: 'globalThis', property: 'process', message: 'pure zone: no process' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date']",
          message: 'pure zone: time comes in as an argument',
        },
        {
          selector: "CallExpression[callee.name='Date']",
          message: 'pure zone: time comes in as an argument',
        },
      ],
    },
  },
);
