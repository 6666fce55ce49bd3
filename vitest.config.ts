import { defineConfig } from 'vitest/config';

// Tests run the TypeScript sources directly; multi-process tests spawn the built
// CLI from dist/ (the `pretest` script builds it first).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Multi-process suites start real nodes; on a 2-core machine running many
    // such files at once only makes each of them flaky, so cap the parallelism.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
