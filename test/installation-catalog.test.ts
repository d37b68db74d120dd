import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import { Appliance } from '../core/metadata/index.js';
import { Application } from '../services/app.js';
import { PluginInstaller } from '../services/plugins/installation.js';
import { tempDir, writePlugin } from './helpers/plugins.js';

// The installation rules against the real catalog (no stand-in): appliances in the catalog
// keep the plugin that created them, and its extensions, from being deleted or downgraded.
let tmp: { path: string; cleanup: () => Promise<void> };
let instance: string;
let bundled: string;

const app = (): Application => Application.create({ instanceRoot: instance, bundledPluginsDir: bundled });

beforeEach(async () => {
  tmp = await tempDir();
  instance = join(tmp.path, 'instance');
  bundled = join(tmp.path, 'bundled');
  const home = join(tmp.path, 'product');
  await writePlugin(join(home, 'plugins', 'introspector'), { name: 'web', version: '2.0' });
  await writePlugin(join(home, 'plugins', 'introspector'), { name: 'webext', parentName: 'web' });
  await app().get(PluginInstaller).install(home);
});
afterEach(() => tmp.cleanup());

describe('installation rules with the catalog', () => {
  it('refuses to uninstall or downgrade a plugin while the catalog has its appliances, and allows it afterwards', async () => {
    const a = app();
    const catalog = a.get(Catalog);
    await catalog.putAppliance(new Appliance({ name: 'site1', creator: 'web' }));

    await expect(a.get(PluginInstaller).uninstall('web')).rejects.toThrow(/site1 \(by web\)/);
    const older = join(tmp.path, 'older');
    await writePlugin(older, { name: 'web', version: '1.0' });
    const [down] = await a.get(PluginInstaller).install(older, { allowDowngrade: true });
    expect(down).toMatchObject({ action: 'refused' });
    expect(down?.reason).toMatch(/site1/);

    await catalog.deleteAppliance('site1');
    const result = await app().get(PluginInstaller).uninstall('web');
    expect(result.removed.sort()).toEqual(['web', 'webext']);
  });
});
