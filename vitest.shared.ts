import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

/**
 * Shared vitest settings: tfjs tests are CPU-heavy, so run files one at a time per package.
 * Tests run the TypeScript sources, never a build in dist/ that may be stale: every package.json
 * lists a "source" export condition first, and we resolve with it.
 */
export default defineConfig({
  resolve: { conditions: ['source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['source', ...defaultServerConditions] } },
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: 'forks',
    passWithNoTests: true,
  },
});
