/**
 * What bin/abctl loads: dist/cli-bundle/main.cjs, as `npm run build` leaves it (CI builds first).
 */
import { isAscii } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../services/instance.js';
import { tempDir } from './helpers/plugins.js';

const bundle = join(projectRoot(), 'dist', 'cli-bundle', 'main.cjs');

describe('the CLI bundle', () => {
  // V8 keeps the text of a script as long as the process runs; one character outside ASCII
  // (esbuild escapes them in strings, not in regular expressions) makes it two bytes a character
  // for the whole 2 MB. Write such a character as \uXXXX in the source.
  it('is ASCII only, so V8 holds its text at one byte a character', async () => {
    const bytes = await readFile(bundle);
    if (!isAscii(bytes)) {
      const at = bytes.findIndex((b) => b > 0x7f);
      expect.fail(`main.cjs has a non-ASCII byte at ${at}: …${bytes.subarray(Math.max(0, at - 60), at + 20).toString('utf8')}…`);
    }
  });

  it('compiles from a copy without a cache, writes the cache, and takes it on the next run', async () => {
    const dir = await tempDir('abctl-cli-bundle-');
    try {
      const copy = join(dir.path, 'main.cjs');
      await copyFile(bundle, copy);
      // A plain node per run, as bin/abctl runs (V8 refuses a cache made under other flags).
      const load = (...flags: string[]): unknown => {
        const code = [
          "const { compileBundle } = require('./bin/load-bundle.cjs');",
          `const { fn, cacheUsed } = compileBundle(${JSON.stringify(copy)});`,
          'const mod = { exports: {} };',
          `fn(mod.exports, require, mod, ${JSON.stringify(copy)}, ${JSON.stringify(dir.path)});`,
          'process.stdout.write(JSON.stringify({ cacheUsed, main: typeof mod.exports.main }));',
        ].join('\n');
        const r = spawnSync(process.execPath, [...flags, '-e', code], { cwd: projectRoot(), encoding: 'utf8', timeout: 30_000 });
        expect(r.status, r.stderr).toBe(0);
        return JSON.parse(r.stdout);
      };
      expect(load()).toEqual({ cacheUsed: false, main: 'function' });
      expect((await stat(`${copy}.cache`)).size).toBeGreaterThan(0);
      expect(load()).toEqual({ cacheUsed: true, main: 'function' });
      // Without WebAssembly the text is read with a plain Buffer; the cache then does not fit the flags.
      expect(load('--jitless')).toEqual({ cacheUsed: false, main: 'function' });
    } finally {
      await dir.cleanup();
    }
  });
});
