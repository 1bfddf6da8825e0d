import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Two cores: database-backed files each get their own database, so files may run in parallel.
    pool: 'forks',
    testTimeout: 30_000,
    // Tests that spawn `hongyan start` do not build the web console; test/console.test.ts asks for it.
    env: { HONGYAN_CONSOLE: 'off' },
    hookTimeout: 60_000,
  },
});
