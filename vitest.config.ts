import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // CI has 2 cores; integration suites start servers and slapd instances of their own.
    maxWorkers: 2,
  },
});
