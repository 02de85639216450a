// ESLint: typescript-eslint (type-checked), React hooks, and feature isolation:
// features/* never import each other; shared code lives in api/, lib/, components/, hooks/.
import js from '@eslint/js';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

const FEATURES = ['fleet', 'twin', 'alerts', 'alarms', 'quality', 'energy', 'reports'];

export default tseslint.config(
  {
    ignores: [
      'dist',
      'node_modules',
      'test-results',
      'playwright-report',
      'coverage',
      'src/api/schema.d.ts',
    ],
  },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      ecmaVersion: 2023,
      globals: { ...globals.browser },
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.flat.recommended.rules,
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  ...FEATURES.map((feature) => ({
    files: [`src/features/${feature}/**/*.{ts,tsx}`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: FEATURES.filter((other) => other !== feature).map((other) => ({
            // Both `…/features/twin/…` and a relative `../../twin/…` from inside features/.
            regex: `(^|/)features/${other}(/|$)|^(\\.\\./)+${other}(/|$)`,
            message:
              'Features stay independent; move shared code to src/lib, src/components or src/hooks.',
          })),
        },
      ],
    },
  })),
  {
    files: ['**/*.test.{ts,tsx}', 'src/testing/**', 'e2e/**'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Test doubles and assertions on mocks trip these without making tests safer.
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['*.config.{ts,js}', 'eslint.config.js'],
    languageOptions: { globals: { ...globals.node } },
  },
);
