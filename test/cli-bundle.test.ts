/**
 * What bin/abctl loads: dist/cli-bundle/main.cjs, as `npm run build` leaves it (CI builds first).
 */
import { isAscii } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../services/instance.js';

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
});
