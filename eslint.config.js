// Lint rules. The important one: src/core is sans-IO (DESIGN.md §2). It never reads the
// clock, draws randomness, sets timers or touches sockets and files by itself.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const sansIoMessage = 'src/core is sans-IO (DESIGN.md §2): take it from the injected environment instead.';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', '.work/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error',
        { name: 'Date', message: sansIoMessage },
        { name: 'setTimeout', message: sansIoMessage },
        { name: 'setInterval', message: sansIoMessage },
        { name: 'setImmediate', message: sansIoMessage },
        { name: 'clearTimeout', message: sansIoMessage },
        { name: 'clearInterval', message: sansIoMessage },
        { name: 'performance', message: sansIoMessage },
        { name: 'process', message: sansIoMessage },
        { name: 'queueMicrotask', message: sansIoMessage },
      ],
      'no-restricted-properties': ['error',
        { object: 'Math', property: 'random', message: sansIoMessage },
      ],
      'no-restricted-imports': ['error', {
        paths: ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'net', 'node:net', 'http', 'node:http',
          'dgram', 'node:dgram', 'ws', 'node:timers', 'timers', 'node:crypto', 'crypto', 'node:child_process',
          'pino'].map((name) => ({ name, message: sansIoMessage })),
        patterns: [{ group: ['../runtime/*', '../../runtime/*', '../storage/log*', '../../storage/log*'], message: sansIoMessage }],
      }],
    },
  },
);
