import { defineConfig } from 'vitest/config';

// Native addons and child processes (the device model) are safest in the forks pool
// (a crash in native code then kills one worker process, not the test run's shared thread pool).
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // In CI only, a failed test runs once more. Two tests (test/grm/70.concurrency-64 and
    // test/agent/50.agent-command, "with --dir ...") failed once each in four clean-clone runs when
    // the 2-core machine was loaded. Retrying keeps a flake from blocking a landing, and a test that
    // fails twice still fails. Each flake is named in the issue notes: find the cause, then remove this.
    retry: process.env.CI ? 1 : 0,
  },
});
