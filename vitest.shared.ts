import { defineConfig } from 'vitest/config';

/** Shared vitest settings: tfjs tests are CPU-heavy, so run files one at a time per package. */
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: 'forks',
    passWithNoTests: true,
  },
});
