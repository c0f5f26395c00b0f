import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests start real processes (the CLI, later sshd and Samba); each is bounded, none is timed.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
