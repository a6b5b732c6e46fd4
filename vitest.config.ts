import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Only our tests: a stray tree under the project (a data dir, a chroot) must never be walked.
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Removes each test file's temp directories when it ends (test/helpers/temp-dirs.ts).
    setupFiles: ['test/setup.ts'],
  },
});
