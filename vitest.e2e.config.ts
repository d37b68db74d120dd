import { defineConfig } from 'vitest/config';
// `npm test` runs this after the other tests: the walk-through starts Debian's default PostgreSQL,
// Tomcat and nginx and edits their configuration, which other tests' discovery would see.
export default defineConfig({ test: { include: ['test/**/*.e2e.test.ts'], testTimeout: 30000, hookTimeout: 60000 } });
