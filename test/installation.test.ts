import { mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Application } from '../services/app.js';
import { PluginInstaller } from '../services/plugins/installation.js';
import { Catalog } from '../catalog/catalog.js';
import { Appliance } from '../core/metadata/index.js';
import { tempDir, writePlugin } from './helpers/plugins.js';

let root: { path: string; cleanup: () => Promise<void> };
let instance: string;
let bundled: string;
let product: string;

function app(): Application {
  return Application.create({ instanceRoot: instance, bundledPluginsDir: bundled });
}

/** Puts an appliance into the instance's real catalog, as an introspection would have left it. */
async function putAppliance(name: string, creator: string, participants: readonly string[] = []): Promise<Catalog> {
  const catalog = app().get(Catalog);
  await catalog.putAppliance(new Appliance({ name, creator, participants: participants.map((p) => ({ name: p, version: '1.0' })) }));
  return catalog;
}

const installed = async (name: string): Promise<string | undefined> =>
  readFile(join(instance, 'plugins', name, 'plugin.config'), 'utf8')
    .then((t) => /version=(.*)/.exec(t)?.[1])
    .catch(() => undefined);

beforeEach(async () => {
  root = await tempDir();
  instance = join(root.path, 'instance');
  bundled = join(root.path, 'bundled');
  product = join(root.path, 'product');
  await mkdir(bundled, { recursive: true });
});
afterEach(() => root.cleanup());

describe('installPlugins', () => {
  it('installs from a product home layout, parents before their extensions', async () => {
    const dir = join(product, 'plugins', 'introspector');
    // Name order puts the extension first: installation must still see its parent.
    await writePlugin(dir, { name: 'zparent', version: '2.0' });
    await writePlugin(dir, { name: 'achild', parentName: 'zparent', minParentVersion: '2' });
    const outcomes = await app().get(PluginInstaller).install(product);
    expect(outcomes.map((o) => [o.name, o.action])).toEqual([
      ['zparent', 'installed'],
      ['achild', 'installed'],
    ]);
    expect(await installed('zparent')).toBe('2.0');
    const inv = await app().inventory();
    expect(inv.records.get('achild')?.state).toBe('enabled');
    expect(inv.records.get('zparent')?.children).toEqual(['achild']);
  });

  it('installs from a flat directory and from a single plugin directory', async () => {
    await writePlugin(product, { name: 'flat1' });
    await writePlugin(product, { name: 'flat2' });
    expect((await app().get(PluginInstaller).install(product)).map((o) => o.action)).toEqual(['installed', 'installed']);
    const single = await writePlugin(join(root.path, 'other'), { name: 'solo' });
    expect((await app().get(PluginInstaller).install(single)).map((o) => o.name)).toEqual(['solo']);
    expect(await installed('solo')).toBe('1.0');
  });

  it('upgrades an older version, leaves an equal one and skips an older candidate', async () => {
    await writePlugin(product, { name: 'p', version: '1.9' });
    await app().get(PluginInstaller).install(product);
    await writePlugin(product, { name: 'p', version: '1.10' });
    const up = await app().get(PluginInstaller).install(product);
    expect(up[0]).toMatchObject({ action: 'upgraded', previousVersion: '1.9', version: '1.10' });
    expect((await app().get(PluginInstaller).install(product))[0]?.action).toBe('unchanged');
    await writePlugin(product, { name: 'p', version: '1.2' });
    const down = await app().get(PluginInstaller).install(product);
    expect(down[0]).toMatchObject({ action: 'skipped' });
    expect(down[0]?.reason).toMatch(/--allow-downgrade/);
    expect(await installed('p')).toBe('1.10');
  });

  it('downgrades only on request and only while no appliance made by the plugin exists', async () => {
    await writePlugin(product, { name: 'p', version: '3' });
    await app().get(PluginInstaller).install(product);
    await writePlugin(product, { name: 'p', version: '2' });
    const catalog = await putAppliance('web1', 'p');
    const refused = await app().get(PluginInstaller).install(product, { allowDowngrade: true });
    expect(refused[0]).toMatchObject({ action: 'refused' });
    expect(refused[0]?.reason).toMatch(/web1 \(by p\)/);
    expect(await installed('p')).toBe('3');
    await catalog.deleteAppliance('web1');
    const ok = await app().get(PluginInstaller).install(product, { allowDowngrade: true });
    expect(ok[0]).toMatchObject({ action: 'downgraded', previousVersion: '3', version: '2' });
    expect(await installed('p')).toBe('2');
  });

  it('refuses an extension whose parent is not installed, or too old', async () => {
    await writePlugin(product, { name: 'orphan', parentName: 'nobody' });
    const [o] = await app().get(PluginInstaller).install(product);
    expect(o).toMatchObject({ action: 'refused' });
    expect(o?.reason).toMatch(/parent nobody is not installed/);
    expect(await installed('orphan')).toBeUndefined();

    const p2 = join(root.path, 'p2');
    await writePlugin(p2, { name: 'base', version: '1.5' });
    await app().get(PluginInstaller).install(p2);
    const p3 = join(root.path, 'p3');
    await writePlugin(p3, { name: 'ext', parentName: 'base', minParentVersion: '1.10' });
    const [e] = await app().get(PluginInstaller).install(p3);
    expect(e?.reason).toMatch(/needs base 1.10 or later; 1.5 is installed/);
  });

  it('refuses a plugin with an invalid manifest and reports the file and key', async () => {
    await writePlugin(product, { name: 'bad', version: '1..2' });
    const [o] = await app().get(PluginInstaller).install(product);
    expect(o?.action).toBe('refused');
    expect(o?.reason).toContain(join(product, 'bad', 'plugin.config'));
    expect(o?.reason).toMatch(/version/);
  });

  it('fails clearly when the source holds no plugin', async () => {
    await mkdir(product, { recursive: true });
    await expect(app().get(PluginInstaller).install(product)).rejects.toThrow(/no plugin directories found/);
    await expect(app().get(PluginInstaller).install(join(root.path, 'missing'))).rejects.toThrow(/is not a directory/);
  });

  it('puts back a plugin whose replacement was interrupted between the two renames', async () => {
    await writePlugin(product, { name: 'p', version: '1' });
    await app().get(PluginInstaller).install(product);
    await rename(join(instance, 'plugins', 'p'), join(instance, 'plugins', '.replaced-p'));
    expect((await app().inventory()).records.has('p')).toBe(false);
    await writePlugin(join(root.path, 'q'), { name: 'q' });
    await app().get(PluginInstaller).install(join(root.path, 'q'));
    expect(await installed('p')).toBe('1');
  });
});

describe('uninstall, enable, disable', () => {
  beforeEach(async () => {
    const dir = join(product, 'plugins', 'introspector');
    await writePlugin(dir, { name: 'top' });
    await writePlugin(dir, { name: 'mid', parentName: 'top' });
    await writePlugin(dir, { name: 'leaf', parentName: 'mid' });
    await writePlugin(dir, { name: 'other' });
    await app().get(PluginInstaller).install(product);
  });

  it('uninstall is recursive and refused while appliances made by the plugin or its extensions exist', async () => {
    // Made by top with mid and leaf taking part (test/installation-extensions.test.ts records this through a real introspection).
    const catalog = await putAppliance('db1', 'top', ['top', 'mid', 'leaf']);
    await expect(app().get(PluginInstaller).uninstall('leaf')).rejects.toThrow(/db1 \(by leaf 1\.0\)/);
    await expect(app().get(PluginInstaller).uninstall('top')).rejects.toThrow(/db1 \(by leaf 1\.0\)/);
    expect(await installed('leaf')).toBe('1.0');
    await catalog.deleteAppliance('db1');
    const result = await app().get(PluginInstaller).uninstall('top');
    expect(result.removed.sort()).toEqual(['leaf', 'mid', 'top']);
    for (const n of ['top', 'mid', 'leaf']) expect(await stat(join(instance, 'plugins', n)).catch(() => null)).toBeNull();
    expect(await installed('other')).toBe('1.0');
  });

  it('refuses to uninstall a bundled plugin and names the alternative', async () => {
    await writePlugin(bundled, { name: 'shipped' });
    await expect(app().get(PluginInstaller).uninstall('shipped')).rejects.toThrow(/ships with abctl/);
    await expect(app().get(PluginInstaller).uninstall('nope')).rejects.toThrow(/no plugin named nope/);
  });

  it('disable is recursive and persists; an extension cannot be enabled under a disabled parent', async () => {
    expect(await app().get(PluginInstaller).disable('mid')).toEqual({ disabled: ['mid', 'leaf'], warnings: [] });
    let inv = await app().inventory();
    expect([inv.records.get('top')?.state, inv.records.get('mid')?.state, inv.records.get('leaf')?.state]).toEqual([
      'enabled',
      'disabled',
      'disabled',
    ]);
    await expect(app().get(PluginInstaller).enable('leaf')).rejects.toThrow(/ancestor mid is disabled/);
    await app().get(PluginInstaller).enable('mid');
    inv = await app().inventory();
    expect(inv.records.get('mid')?.state).toBe('enabled');
    expect(inv.records.get('leaf')?.state).toBe('disabled');
    await app().get(PluginInstaller).disable('top');
    await app().get(PluginInstaller).enable('top', { recursive: true });
    inv = await app().inventory();
    expect(['top', 'mid', 'leaf'].map((n) => inv.records.get(n)?.state)).toEqual(['enabled', 'enabled', 'enabled']);
  });

  it('disabled plugins are not activated', async () => {
    await app().get(PluginInstaller).disable('top');
    const a = app();
    await a.start();
    const names = a.collector().getServices<{ name: string }>('IntrospectorPlugin').map((p) => p.name);
    expect(names).toEqual(['other']);
    await a.stop();
  });
});
