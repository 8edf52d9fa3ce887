import { defineConfig } from 'vitest/config';

// Native addons and child processes (the device model) are safest in the forks pool
// (see shared reference NODE-FINDINGS.md).
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
