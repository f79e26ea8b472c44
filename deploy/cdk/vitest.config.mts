import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file synthesizes the whole app (three stacks, the image asset staged): seconds,
    // not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
