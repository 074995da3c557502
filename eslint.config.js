// ESLint flat config: @eslint/js recommended + typescript-eslint `recommended` (syntax only, not the
// type-checked variant, to stay fast), with eslint-config-prettier last so that formatting is left to
// Prettier. `npm run lint:eslint` runs it; layering and cycles are dependency-cruiser's job
// (.dependency-cruiser.cjs), formatting is Prettier's (.prettierrc.json).

import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The Node globals the plain-JavaScript files (bench/*.mjs) use; TypeScript files get theirs from
// @types/node, and typescript-eslint turns no-undef off for them.
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'AbortController',
    'TextEncoder',
    'TextDecoder',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate',
    'queueMicrotask',
    'structuredClone',
    'performance',
    'fetch',
  ].map((name) => [name, 'readonly']),
);

const unusedVars = ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }];

export default defineConfig([
  globalIgnores(['dist/', 'node_modules/', 'coverage/', 'data/']),

  // Everything: JavaScript's recommended rules.
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    extends: [js.configs.recommended],
    rules: {
      'no-empty': ['error', { allowEmptyCatch: true }],
      // LDAP values, DNs and BER may hold any octet: matching NUL and control characters on
      // purpose (escaping, validation) is this server's job.
      'no-control-regex': 'off',
    },
  },

  // Plain JavaScript (bench/, this file): ES modules on Node.
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: nodeGlobals },
    rules: {
      'no-unused-vars': unusedVars,
    },
  },

  // TypeScript: src/, test/ and the *.ts config files at the top (vitest.config.ts).
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': unusedVars,
    },
  },

  // The server's own code: no `any`, and a warning for files and functions grown too big to read.
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'max-lines': ['warn', { max: 500, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['warn', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },

  // Tests poke at loosely-typed wire data and fixtures.
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },

  // Last: turn off every rule that would fight Prettier's formatting.
  prettier,
]);
