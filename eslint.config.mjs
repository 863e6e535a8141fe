import tseslint from 'typescript-eslint';

// Purity zone (STYLE.md §5.5): the kernel model, BTF parser, domain and projections take
// time and ids as arguments and touch no I/O.
const PURE = [
  'shared/src/lib/**/*.ts',
  'shared/src/kernel/**/*.ts',
  'shared/src/btf/**/*.ts',
  'shared/src/domain/**/*.ts',
  'shared/src/projections/**/*.ts',
];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.tmp/**', 'services/cli/bin/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'separate-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: PURE,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'child_process'],
              message: 'pure zone: no I/O',
            },
            {
              group: ['rxjs', 'kysely', 'better-sqlite3', '@nats-io/*', 'zod', 'pino'],
              message: 'pure zone',
            },
            { group: ['**/infra/**', '**/contracts/**'], message: 'pure zone: no edge imports' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        'process',
        'setTimeout',
        'setInterval',
        'fetch',
        'console',
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now' },
        { object: 'Math', property: 'random' },
        { object: 'crypto', property: 'randomUUID' },
      ],
      'no-restricted-syntax': ['error', "NewExpression[callee.name='Date']"],
    },
  },
);
