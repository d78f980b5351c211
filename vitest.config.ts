import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/tests/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Differential tests start nginx and nxproxy processes; two cores only.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
