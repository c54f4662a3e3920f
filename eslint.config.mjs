// ESLint: typescript-eslint's strict, type-aware rules for src/ and test/, ESLint's recommended
// rules for the .mjs scripts. Why these and not Biome: docs/decisions/0020-lint-and-format.md.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'bench/results/**', 'data/**', '.demo/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      // A number in a log line or an error message is what the reader wants to see.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `(x) => void something()` style callbacks read fine; only statements are checked.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `_name` marks a parameter or a destructured field left out on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Off, each with its findings in docs/decisions/0020-lint-and-format.md:
      // - header and credential checks match control characters on purpose;
      'no-control-regex': 'off',
      // - services are createX factories returning closures, which have no `this` to lose;
      '@typescript-eslint/unbound-method': 'off',
      // - Node.js types sockets of 'upgrade' and 'clientError' as Duplex; they are always a net.Socket.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
    },
  },
  {
    // The console's browser code has its own TypeScript project (DOM types, no Node.js).
    files: ['web/**/*.ts'],
    languageOptions: { parserOptions: { project: './web/tsconfig.json', tsconfigRootDir: import.meta.dirname }, globals: globals.browser },
  },
  {
    // Tests index into fixtures they just built and read values they just asserted on.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // `json<T>()` and `loadVectors<T>()` let the test name the shape it expects.
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
