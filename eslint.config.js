// ESLint for linc-ts (`npm run lint`, after dependency-cruiser and before knip).
// TypeScript: typescript-eslint's recommended rules plus the type-checked ones
// that find real defects (a promise nobody awaits or handles, a promise where a
// callback is expected, an await on a non-promise, a cast that changes nothing,
// `+` mixing numbers and strings, an object printed as "[object Object]", a
// switch that forgets a member of a union). Every rule turned off or relaxed
// below says why, on its line.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Build output and dependencies; not ours to lint.
    ignores: ['dist/**', 'build/**', 'node_modules/**'],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // On (not in recommended): a switch over a union that forgets a member.
      // A `default:` counts as handling the rest: many switches pick a few cases on purpose.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Off: counters and opcodes are const enums used as indices into typed arrays, so a
      // number read from an Int32Array compared with an enum member is the design, not a mix-up.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // Relaxed (allowNever): `${x}` with x: never is the impossible-case guard (layout
      // version checks, exhaustive fall-through) printing the value should it ever happen.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNever: true }],
      // Relaxed: `{ type: _t, ...rest }` and `_name` mark a value dropped on purpose
      // (tsc's noUnusedLocals already reports the unintended ones).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Plain JavaScript: the config files and the hand-written fixture capture
    // scripts (test/fixtures/of13/capture/*.mjs, run under Node, outside the
    // TypeScript project on purpose: they share no code with src/openflow).
    // No type information, so ESLint's own recommended rules only.
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
  },
);
