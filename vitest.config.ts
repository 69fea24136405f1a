import { defineConfig } from 'vitest/config';

// Integration tests create network namespaces, TAPs and veths and run real
// traffic: files run one at a time so they never compete for the 2 cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
