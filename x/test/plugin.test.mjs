// Runs x the way abctl does, with abctl's test kit: dehydrate against a sample directory
// standing for the reference host, then rehydrate the result under a temporary root.
// Run it with `node --test test/` (any runner works: the kit is plain async functions).
// `abctl/testkit` must resolve from here: `npm install --save-dev abctl` or `npm link abctl`.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dehydrate, rehydrate } from 'abctl/testkit';

const pluginDir = join(dirname(fileURLToPath(import.meta.url)), '..');

test('x dehydrates a sample installation and rehydrates it', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'x-test-'));
  try {
    // A made-up installation: replace it with a copy of a real one.
    const home = join(tmp, 'product');
    await mkdir(home);
    await writeFile(join(home, 'VERSION'), '1.0\n');

    const result = await dehydrate({ plugin: pluginDir, parameters: { home } });
    try {
      assert.equal(result.appliance.properties.get('product.version')?.value, '1.0');
      assert.deepEqual(result.appliance.fileSets.map((f) => f.root), [home]);

      const root = join(tmp, 'instance');
      const done = await rehydrate(result, { root, properties: { 'instance.label': 'test' } });
      assert.ok(done.ran.includes('x'));
      assert.match(await readFile(join(root, home, 'settings.properties'), 'utf8'), /^label=test$/m);
    } finally {
      await result.dispose();
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
