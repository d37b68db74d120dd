import { spawnSync } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedIntrospectCommandNames, HELP_CACHE_FILE, helpCacheKey } from '../cli/help-cache.js';
import { instanceLayout, projectRoot } from '../services/instance.js';
import { tempDir, writePlugin } from './helpers/plugins.js';

describe('the --help introspect-command cache', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let instance: string;
  let bundled: string;
  const saved = process.env.AB_BUNDLED_PLUGINS;

  beforeEach(async () => {
    dir = await tempDir('abctl-help-cache-');
    instance = join(dir.path, 'instance');
    bundled = join(dir.path, 'bundled');
    await mkdir(join(instance, 'plugins'), { recursive: true });
    await writePlugin(bundled, { name: 'alpha' });
    process.env.AB_BUNDLED_PLUGINS = bundled;
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.AB_BUNDLED_PLUGINS;
    else process.env.AB_BUNDLED_PLUGINS = saved;
    await dir.cleanup();
  });

  const cacheFile = (): string => join(instance, 'cache', HELP_CACHE_FILE);

  it('stores the scan, answers from it while the key matches, and scans again when a plugin.config changes', async () => {
    expect(await cachedIntrospectCommandNames(instance)).toEqual([{ name: 'introspectalpha', description: 'test plugin alpha' }]);
    const record = JSON.parse(await readFile(cacheFile(), 'utf8')) as { key: string };
    expect(record.key).toBe(helpCacheKey(instanceLayout(instance, bundled)));

    // A record whose key matches is believed as it is: this proves the second run does not scan.
    await writeFile(cacheFile(), JSON.stringify({ key: record.key, commands: [{ name: 'introspectfromcache', description: 'x' }] }));
    expect((await cachedIntrospectCommandNames(instance)).map((c) => c.name)).toEqual(['introspectfromcache']);

    // A plugin installed in the instance, and an edited description, both change the key.
    await writePlugin(join(instance, 'plugins'), { name: 'beta' });
    expect((await cachedIntrospectCommandNames(instance)).map((c) => c.name)).toEqual(['introspectbeta', 'introspectalpha']);
    await writeFile(join(bundled, 'alpha', 'plugin.config'), 'name=alpha\nversion=1.0\ndescription=changed text\n');
    expect((await cachedIntrospectCommandNames(instance)).find((c) => c.name === 'introspectalpha')?.description).toBe('changed text');
  });

  it('disabling a plugin changes the key', async () => {
    const before = helpCacheKey(instanceLayout(instance, bundled));
    await mkdir(join(instance, 'config'), { recursive: true });
    await writeFile(join(instance, 'config', 'plugin-state.json'), JSON.stringify({ disabled: ['alpha'] }));
    expect(helpCacheKey(instanceLayout(instance, bundled))).not.toBe(before);
  });

  it('creates no cache for an instance that does not exist', async () => {
    const missing = join(dir.path, 'no-such-instance');
    expect((await cachedIntrospectCommandNames(missing)).map((c) => c.name)).toEqual(['introspectalpha']);
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('abctl --help still lists the commands when the cache cannot be written', async () => {
    // A file where the cache directory should be: mkdir fails (running as root, permissions would not stop it).
    await writeFile(join(instance, 'cache'), 'not a directory');
    const env = { ...process.env, AB_INSTANCE: instance, AB_BUNDLED_PLUGINS: bundled };
    const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'abctl'), '--help'], { env, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('introspectalpha');
    expect(await readFile(join(instance, 'cache'), 'utf8')).toBe('not a directory');
  });
});
