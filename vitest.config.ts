import { defineConfig } from 'vitest/config';
// The end-to-end walk-through (test/**/*.e2e.test.ts) runs after everything else, alone: vitest.e2e.config.ts.
export default defineConfig({ test: { include: ['test/**/*.test.ts'], exclude: ['**/node_modules/**', 'test/**/*.e2e.test.ts'], testTimeout: 30000, hookTimeout: 60000 } });
