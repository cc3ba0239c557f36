// ESLint for the TypeScript of controller/ and test/ and the Node.js scripts of hack/ (`npm run lint`). Formatting
// is Prettier's (.prettierrc.json); the only layout rule here is the line limit, for what Prettier does not wrap.
import { readFileSync } from 'node:fs';
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** The line limit is Prettier's printWidth: declared once, in .prettierrc.json. */
const { printWidth } = JSON.parse(readFileSync(new URL('.prettierrc.json', import.meta.url), 'utf8'));

export default tseslint.config(
  // test/e2e/images/ holds the programs of the test images: workloads to be scanned, not the project's code.
  { ignores: ['bin/', 'dist/', 'node_modules/', 'scanner/', 'reader/', '.work/', 'test/e2e/images/'] },
  js.configs.recommended,
  {
    files: ['controller/**/*.ts', 'test/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `const { omitted: _o, ...rest } = x` drops a field; a leading underscore marks a deliberately unused name.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Untrusted text (scan results, spec fields) is checked for control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // A test's stand-in for an async callback (a work queue handler, a client) need not await anything.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    plugins: { '@stylistic': stylistic },
    rules: {
      // Prettier wraps code at printWidth but leaves comments, and a string or a test's title that cannot be broken.
      '@stylistic/max-len': [
        'error',
        {
          code: printWidth,
          ignoreUrls: true,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
        },
      ],
    },
  },
);
