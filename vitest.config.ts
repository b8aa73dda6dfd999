import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ first: tests that spawn the binary never run a stale build.
    globalSetup: ['test/support/global-setup.ts'],
    environment: 'node',
    // Integration tests start real loopback servers and child processes: give them room on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    env: { TZ: 'UTC' },
  },
});
