import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginError } from '../core/errors.js';
import { Application } from '../services/app.js';
import { findUpgradeCandidates, upgradeRequiredError } from '../services/plugins/upgrade-check.js';
import { tempDir, writePlugin } from './helpers/plugins.js';

let root: { path: string; cleanup: () => Promise<void> };
let app: Application;

/** An activator registering the plugin and a locator that reads the `home` parameter. */
function withLocator(name: string, parentName?: string, body = 'return [parameters.home];'): string {
  const id = parentName ? 'IntrospectorPluginExtension' : 'IntrospectorPlugin';
  return `export const activator = { start(ctx) {
    ctx.registerService(ctx.ids.${id}, { name: ${JSON.stringify(name)}, parentName: ${JSON.stringify(parentName)} });
    ctx.registerService(ctx.ids.IntrospectorPluginLocator, {
      pluginOrExtensionName: ${JSON.stringify(name)},
      productInstallHomes(parameters) { ${body} },
    });
  } };`;
}

beforeEach(async () => {
  root = await tempDir();
  const bundled = join(root.path, 'bundled');
  await writePlugin(bundled, { name: 'prod', version: '1.0', index: withLocator('prod') });
  await writePlugin(bundled, { name: 'prodext', version: '1.0', parentName: 'prod', index: withLocator('prodext', 'prod', 'return [parameters.exthome];') });
  await writePlugin(bundled, { name: 'unrelated', version: '1.0', index: withLocator('unrelated') });
  app = Application.create({ instanceRoot: join(root.path, 'instance'), bundledPluginsDir: bundled });
  await app.start();
});
afterEach(async () => {
  await app.stop();
  await root.cleanup();
});

describe('upgrade check', () => {
  it('leaves out a disabled extension', async () => {
    const { PluginInstaller } = await import('../services/plugins/installation.js');
    const exthome = join(root.path, 'exthome');
    await writePlugin(join(exthome, 'plugins', 'introspector'), { name: 'prodext', version: '2', parentName: 'prod' });
    await app.get(PluginInstaller).disable('prodext');
    expect(await findUpgradeCandidates(await app.inventory(), app.collector(), 'prod', { home: exthome, exthome })).toEqual([]);
  });

  it('finds newer versions of participating plugins and extensions at the homes their locators name', async () => {
    const home = join(root.path, 'home');
    const exthome = join(root.path, 'exthome');
    await writePlugin(join(home, 'plugins', 'introspector'), { name: 'prod', version: '1.0.1' });
    await writePlugin(join(home, 'plugins', 'introspector'), { name: 'unrelated', version: '9' });
    await writePlugin(join(exthome, 'plugins', 'introspector'), { name: 'prodext', version: '2', parentName: 'prod' });
    const candidates = await findUpgradeCandidates(await app.inventory(), app.collector(), 'prod', { home, exthome });
    expect(candidates.map((c) => [c.name, c.installedVersion, c.availableVersion])).toEqual([
      ['prod', '1.0', '1.0.1'],
      ['prodext', '1.0', '2'],
    ]);
    const err = upgradeRequiredError(candidates);
    expect(err.message).toContain('prod 1.0 -> 1.0.1');
    expect(err.hint).toContain(`abctl installPlugins --from ${home}`);
  });

  it('finds nothing when the product ships the same or an older version ("2" equals "2.0")', async () => {
    const home = join(root.path, 'home');
    await writePlugin(join(home, 'plugins', 'introspector'), { name: 'prod', version: '1' });
    await writePlugin(join(home, 'plugins', 'introspector'), { name: 'prodext', version: '0.9', parentName: 'prod' });
    expect(await findUpgradeCandidates(await app.inventory(), app.collector(), 'prod', { home, exthome: home })).toEqual([]);
  });

  it('reports a failing locator as a plugin error', async () => {
    const bundled = join(root.path, 'bundled2');
    await writePlugin(bundled, { name: 'prod', index: withLocator('prod', undefined, 'throw new Error("no home parameter");') });
    const a = Application.create({ instanceRoot: join(root.path, 'instance2'), bundledPluginsDir: bundled });
    await a.start();
    const err = await findUpgradeCandidates(await a.inventory(), a.collector(), 'prod', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).plugin).toBe('prod');
    expect((err as PluginError).message).toMatch(/productInstallHomes failed: no home parameter/);
    await a.stop();
  });
});
