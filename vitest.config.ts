import { defineConfig } from 'vitest/config';

// Native addons and child processes (the device model) are safest in the forks pool
// (a crash in native code then kills one worker process, not the test run's shared thread pool).
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
