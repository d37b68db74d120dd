/**
 * The TypeScript recipe of docs/plugin-contract.md: compile test/docs/fixtures/ts-plugin with tsc
 * straight into a plugin directory, next to its plugin.config and package.json, and run it.
 * Uses the built CLI and dist/core/*.d.ts: `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixture = join(root, 'test', 'docs', 'fixtures', 'ts-plugin');
const bin = join(root, 'bin', 'abctl');
let tmp: string;

describe('a TypeScript plugin compiled as the doc says', () => {
  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'core', 'plugin-contract.d.ts'))) throw new Error('dist/ is missing: run `npm run build` first');
    tmp = await mkdtemp(join(tmpdir(), 'abctl-ts-plugin-'));
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('type-checks against the contract, compiles to a plain ES module and runs', async () => {
    const pluginDir = join(tmp, 'plugins', 'tsexample');
    await mkdir(pluginDir, { recursive: true });
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', fixture, '--outDir', pluginDir], { encoding: 'utf8' });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    await cp(join(fixture, 'plugin.config'), join(pluginDir, 'plugin.config'));
    await cp(join(fixture, 'package.json'), join(pluginDir, 'package.json'));
    // Type-only imports vanish: the compiled plugin needs nothing from abctl.
    expect(await readFile(join(pluginDir, 'index.js'), 'utf8')).not.toMatch(/\bimport\b/);

    const env: NodeJS.ProcessEnv = { ...process.env, AB_BUNDLED_PLUGINS: join(tmp, 'plugins') };
    delete env.AB_INSTANCE;
    const abctl = (args: string[]) => spawnSync(process.execPath, [bin, '--instance', join(tmp, 'instance'), ...args], { env, encoding: 'utf8' });

    const listed = abctl(['describePlugins', '--json']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).plugins).toEqual([expect.objectContaining({ name: 'tsexample', state: 'enabled', commands: ['introspecttsexample'] })]);

    const home = join(tmp, 'product');
    await cp(join(root, 'examples', 'minihttpd'), home, { recursive: true });
    const run = abctl(['introspecttsexample', '--home', home, '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ plugin: 'tsexample', name: 'tsexample', kind: 'appliance' });
  });
});
