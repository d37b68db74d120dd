/**
 * The quick edit loop through the built CLI on a real instance: a plugin installed by link runs
 * its edits on the next command and shows as linked; a normal install replaces the link; the
 * same version is left alone unless --force; uninstalling a link leaves the author's directory.
 */
import { existsSync, lstatSync } from 'node:fs';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writePlugin } from '../helpers/plugins.js';
import { abctl, cliEnv } from '../introspection/helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;
let dev: string;

/** A plugin whose appliance records `marker`, so a test sees which code ran. */
const index = (marker: string): string =>
  `export const activator = { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPlugin, { name: 'devplug',
    async dehydrate(c) { c.createAppliance({ name: String(c.parameters.app ?? 'app'), properties: [{ name: 'marker', type: 'string', category: 'user', value: '${marker}' }] }); },
    jobParameters() { return [{ name: 'app', type: 'string', description: 'appliance name' }]; } }); } };\n`;

const marker = (app: string): string | undefined => {
  const r = abctl(['describeAppliances', '--name', app, '--json'], env);
  const [a] = (JSON.parse(r.out) as { appliances: { properties: { name: string; value?: string }[] }[] }).appliances;
  return a?.properties.find((p) => p.name === 'marker')?.value;
};

const describePlugin = () => (JSON.parse(abctl(['describePlugins', '--json'], env).out) as { plugins: { name: string; linkedTo: string | null; source: string }[] }).plugins[0];

beforeAll(async () => {
  tmp = await tempDir('abctl-link-');
  env = cliEnv(join(tmp.path, 'instance'), join(tmp.path, 'none'));
  dev = await writePlugin(join(tmp.path, 'src'), { name: 'devplug', index: index('one') });
});
afterAll(async () => tmp?.cleanup());

describe('installPlugins --link and --force', () => {
  it('links, runs each edit on the next command, and is shown as linked', async () => {
    const r = abctl(['installPlugins', '--from', dev, '--link', '--json'], env);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ outcomes: [{ name: 'devplug', action: 'linked', version: '1.0' }] });
    expect(lstatSync(join(tmp.path, 'instance', 'plugins', 'devplug')).isSymbolicLink()).toBe(true);
    expect(describePlugin()).toMatchObject({ name: 'devplug', source: 'installed', linkedTo: dev });
    expect(abctl(['describePlugins'], env).out).toContain(`linked -> ${dev}`);
    expect(JSON.parse(await readFile(join(tmp.path, 'instance', 'config', 'plugin-links.json'), 'utf8'))).toEqual({ format: 1, links: { devplug: dev } });

    expect(abctl(['introspectdevplug', '--app', 'a1'], env).code).toBe(0);
    expect(marker('a1')).toBe('one');
    await writeFile(join(dev, 'index.js'), index('two'));
    expect(abctl(['introspectdevplug', '--app', 'a2'], env).code).toBe(0);
    expect(marker('a2')).toBe('two');
  });

  it('replaces the link with a copy on a normal install; the same version again only with --force', async () => {
    expect(abctl(['installPlugins', '--from', dev], env).out).toMatch(/^installed +devplug 1\.0 -> 1\.0$/m);
    expect(lstatSync(join(tmp.path, 'instance', 'plugins', 'devplug')).isDirectory()).toBe(true);
    expect(describePlugin()).toMatchObject({ linkedTo: null });

    await writeFile(join(dev, 'index.js'), index('three'));
    expect(abctl(['installPlugins', '--from', dev], env).out).toMatch(/^unchanged +devplug 1\.0$/m);
    expect(abctl(['introspectdevplug', '--app', 'a3'], env).code).toBe(0);
    expect(marker('a3')).toBe('two');
    expect(abctl(['installPlugins', '--from', dev, '--force'], env).out).toMatch(/^reinstalled +devplug 1\.0 -> 1\.0$/m);
    expect(abctl(['introspectdevplug', '--app', 'a4'], env).code).toBe(0);
    expect(marker('a4')).toBe('three');
  });

  it('keeps refusing symbolic links inside a plugin for a normal install, even with --force', async () => {
    const linked = await writePlugin(join(tmp.path, 'src2'), { name: 'linky' });
    await symlink('/etc/hostname', join(linked, 'outside.txt'));
    const r = abctl(['installPlugins', '--from', linked, '--force'], env);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^refused +linky .*outside\.txt: a symbolic link to .*outside the plugin directory/m);
  });

  it('uninstalls a linked plugin without touching the directory it links to', async () => {
    expect(abctl(['installPlugins', '--from', dev, '--link'], env).code).toBe(0);
    for (const a of ['a1', 'a2', 'a3', 'a4']) expect(abctl(['deleteAppliance', '--name', a], env).code).toBe(0);
    const r = abctl(['uninstallPlugin', '--name', 'devplug'], env);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(join(dev, 'index.js'))).toBe(true);
    expect(existsSync(join(tmp.path, 'instance', 'plugins', 'devplug'))).toBe(false);
    expect(JSON.parse(await readFile(join(tmp.path, 'instance', 'config', 'plugin-links.json'), 'utf8'))).toEqual({ format: 1, links: {} });
  });
});
