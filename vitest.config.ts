import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The README's embedding example (test/examples/) imports the package by its name.
  resolve: { alias: { astldap: fileURLToPath(new URL('./src/index.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // CI has 2 cores; integration suites start servers and slapd instances of their own.
    maxWorkers: 2,
  },
});
