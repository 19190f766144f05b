// ESLint: typescript-eslint's recommended rules, import cycles refused everywhere, and workflow
// code kept deterministic (no Node built-ins: it runs in Temporal's sandbox and replays).
// Formatting is prettier's job (`npm run format`), checked by `npm run lint` too.
import js from '@eslint/js';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

export default tseslint.config(
  {
    ignores: [
      'lib/**',
      'node_modules/**',
      'bench/tmp/**',
      'tests/replay/histories/**',
      'tests/replay/archive/**',
      'demo-workspace/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // `any` is used deliberately at SDK boundaries (failure causes, activity generics).
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Control characters are matched on purpose: ANSI colour codes, binary input, NUL bytes.
      'no-control-regex': 'off',
    },
  },
  {
    // Plain CommonJS scripts (bin, build scripts, mocha settings).
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({
            name,
            message: 'workflow code must not use Node built-ins: do the I/O in an activity',
          })),
          patterns: [
            { group: ['node:*'], message: 'workflow code must not use Node built-ins: do the I/O in an activity' },
          ],
        },
      ],
    },
  },
);
