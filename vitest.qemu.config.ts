import { defineConfig } from 'vitest/config';

// npm run test:qemu: the QEMU integration tests (test/qemu/*.qemu.ts), apart from `npm test`
// because they boot VMs and need qemu/setup.sh. One file at a time: VMs share the host's cores.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/qemu/**/*.qemu.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 60_000,
  },
});
