// ESLint for the whole tree (flat config). Type-aware: the rules that matter most here (floating
// and misused promises, `any` leaking out of parsed JSON) need the type checker, which the
// project service builds from tsconfig.json. Formatting is Prettier's job: eslint-config-prettier
// comes last and turns off every rule that would fight it.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** The rules that follow an `any` around: off where `any` is the nature of the code. */
const anyIsExpected = {
  '@typescript-eslint/no-unsafe-argument': 'off',
  '@typescript-eslint/no-unsafe-assignment': 'off',
  '@typescript-eslint/no-unsafe-call': 'off',
  '@typescript-eslint/no-unsafe-member-access': 'off',
  '@typescript-eslint/no-unsafe-return': 'off',
};

export default defineConfig(
  { ignores: ['dist/', 'dist-bench/', 'coverage/', '.easel/', 'test-output/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: {
          // The few plain JavaScript files (tool configs, test setup, scripts) are outside
          // tsconfig.json; a default project gives them the same promise rules.
          allowDefaultProject: ['*.js', 'scripts/*.mjs', 'bench/*.mjs', 'test/setup/*.{mjs,cjs}', 'test/utils/*.mjs'],
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 16,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      // An un-awaited promise is a lost error or a race; an async callback handed to something
      // that expects a void one (an event emitter, a callback-style hook) has its rejection dropped.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Unused code, with `_` as the way to say "deliberately unused" (a positional parameter,
      // an element skipped in a destructuring, a caught error that needs no handling).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // TypeScript `private` members too (an injected dependency nobody reads any more).
      '@typescript-eslint/no-unused-private-class-members': 'error',
      // One block, no blank lines between groups (as the code is written): side-effect imports
      // first, kept in their order ('reflect-metadata' must load first), then node builtins,
      // packages, and relative imports. Autofixable.
      'simple-import-sort/imports': ['error', { groups: [['^\\u0000', '^node:', '^@?\\w', '^', '^\\.']] }],

      // Deliberate idioms the recommended set would fight:
      // - `array[i]!` states "present here" where the index was just checked; the compiler
      //   (without noUncheckedIndexedAccess) calls it redundant and --fix would strip ~175 of them.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // - `async` without `await` is deliberate: it implements a Promise-returning contract (Nest
      //   guards, fakes, stubs) and turns a synchronous throw into a rejection, which callers rely
      //   on; removing it would change behaviour.
      '@typescript-eslint/require-await': 'off',
      // - `.map(Dto.from)`: static factories that do not use `this` are passed as callbacks.
      '@typescript-eslint/unbound-method': ['error', { ignoreStatic: true }],
      // - `reject(signal.reason)` / rethrowing a caught error passes on whatever was thrown.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      // - `const self = this` for an async iterator object whose methods have their own `this`.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
    },
  },
  {
    // Tests read untyped JSON bodies and database rows (`any`) and assert on them; typing every
    // one would be noise, and an `any` there cannot leak into production code.
    files: ['test/**', '**/*.spec.ts'],
    rules: { ...anyIsExpected, '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The console's browser code (web/, its own tsconfig.json): browser globals, not Node's.
    files: ['web/src/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Plain JavaScript has no types: everything is `any` to the checker.
    files: ['**/*.{js,mjs,cjs}'],
    rules: anyIsExpected,
  },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' } },
  prettier,
);
