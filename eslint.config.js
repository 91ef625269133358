import neostandard from 'neostandard'

// neostandard (standard style, TypeScript-aware) over the service, its tests, benchmarks and examples.
export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'examples/api.d.ts', 'coverage/**', '.tap/**'] }),
  {
    rules: {
      // API fields and table columns are snake_case by contract; mapping one to the other names them as they are.
      camelcase: 'off',
      // `void promise` marks a promise deliberately not awaited (its errors are handled where it is made).
      'no-void': ['error', { allowAsStatement: true }],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      // `_` names what is there only to be counted or skipped.
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_' }],
    },
  },
]
