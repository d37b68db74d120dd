import { lstat, mkdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Application } from '../services/app.js';
import { projectRoot } from '../services/instance.js';
import { PluginInstaller } from '../services/plugins/installation.js';
import { defaultIndex, tempDir, writePlugin } from './helpers/plugins.js';

// A plugin's code must come from its own directory: these use real symbolic links.
let root: { path: string; cleanup: () => Promise<void> };
let instance: string;
let bundled: string;
let product: string;
/** Code outside every plugin; when it runs, it leaves this file behind. */
let outside: string;
let ranOutside: string;

function app(): Application {
  return Application.create({ instanceRoot: instance, bundledPluginsDir: bundled });
}

beforeEach(async () => {
  root = await tempDir();
  instance = join(root.path, 'instance');
  bundled = join(root.path, 'bundled');
  product = join(root.path, 'product');
  outside = join(root.path, 'outside.js');
  ranOutside = join(root.path, 'outside-ran');
  await mkdir(bundled, { recursive: true });
  await writeFile(
    outside,
    `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(ranOutside)}, 'ran');\nexport default { start() {} };\n`,
  );
  // Makes outside.js an ES module, like a plugin's own package.json would.
  await writeFile(join(root.path, 'package.json'), '{ "type": "module" }\n');
});
afterEach(() => root.cleanup());

const exists = (p: string): Promise<boolean> => lstat(p).then(() => true, () => false);

describe('installPlugins and symbolic links', () => {
  it('refuses a plugin whose entry module links outside it, naming the link, and installs the others', async () => {
    const evil = await writePlugin(product, { name: 'evil' });
    await writeFile(join(evil, 'package.json'), '{ "type": "module" }\n');
    await rm(join(evil, 'index.js'));
    await symlink(outside, join(evil, 'index.js'));
    await writePlugin(product, { name: 'plain' });

    const outcomes = await app().get(PluginInstaller).install(product);
    const refused = outcomes.find((o) => o.name === 'evil');
    expect(refused?.action).toBe('refused');
    expect(refused?.reason).toContain(`index.js: a symbolic link to ${outside}, outside the plugin directory`);
    expect(refused?.reason).toContain('only regular files and directories are installed');
    expect(outcomes.find((o) => o.name === 'plain')?.action).toBe('installed');
    expect(await exists(join(instance, 'plugins', 'evil'))).toBe(false);

    const a = app();
    await a.start();
    await a.stop();
    expect(await exists(ranOutside)).toBe(false);
  });

  it('refuses links to directories, dangling links and links in subdirectories, each by name', async () => {
    const dir = await writePlugin(product, { name: 'tangled' });
    await mkdir(join(dir, 'lib', 'deep'), { recursive: true });
    await symlink(join(dir, 'lib'), join(dir, 'lib-again'));
    await symlink(join(dir, 'nowhere.js'), join(dir, 'dangling.js'));
    await symlink(root.path, join(dir, 'lib', 'deep', 'up'));
    const [outcome] = await app().get(PluginInstaller).install(join(product, 'tangled'));
    expect(outcome?.action).toBe('refused');
    expect(outcome?.reason).toContain('lib-again: a symbolic link to a directory; only links to files are copied');
    expect(outcome?.reason).toContain('dangling.js: a symbolic link to nothing');
    expect(outcome?.reason).toContain(`${join('lib', 'deep', 'up')}: a symbolic link to ${root.path}, outside the plugin directory`);
    expect(await exists(join(instance, 'plugins', 'tangled'))).toBe(false);
  });

  it('copies a link to a file inside the plugin as that file, and the plugin runs', async () => {
    const dir = await writePlugin(product, { name: 'linked', index: '' });
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
    await mkdir(join(dir, 'dist'));
    await writeFile(join(dir, 'dist', 'real.js'), defaultIndex({ name: 'linked' }));
    await rm(join(dir, 'index.js'));
    await symlink(join('dist', 'real.js'), join(dir, 'index.js'));

    const [outcome] = await app().get(PluginInstaller).install(dir);
    expect(outcome?.action).toBe('installed');
    const copied = join(instance, 'plugins', 'linked', 'index.js');
    expect((await lstat(copied)).isFile()).toBe(true);
    expect(await readFile(copied, 'utf8')).toBe(defaultIndex({ name: 'linked' }));
    expect((await stat(join(instance, 'plugins', 'linked', 'dist', 'real.js'))).isFile()).toBe(true);

    const a = app();
    const inventory = await a.start();
    await a.stop();
    expect(inventory.records.get('linked')?.state).toBe('enabled');
  });

  it('installs from a plugin directory that is itself a link', async () => {
    const real = await writePlugin(join(root.path, 'elsewhere'), { name: 'via' });
    await mkdir(product);
    await symlink(real, join(product, 'via'));
    const [outcome] = await app().get(PluginInstaller).install(product);
    expect(outcome?.action).toBe('installed');
    expect((await lstat(join(instance, 'plugins', 'via'))).isDirectory()).toBe(true);
  });
});

describe('the report of issue 9.4, with the built CLI', () => {
  it('ln -s outside.js p/index.js: installPlugins refuses it by name and no later command runs outside.js', async () => {
    const p = await writePlugin(product, { name: 'p' });
    await rm(join(p, 'index.js'));
    await symlink(outside, join(p, 'index.js'));
    const env = { ...process.env, AB_INSTANCE: instance, AB_BUNDLED_PLUGINS: bundled };
    const abctl = (...args: string[]) => spawnSync(process.execPath, [join(projectRoot(), 'bin', 'abctl'), ...args], { env, encoding: 'utf8' });

    const install = abctl('installPlugins', '--from', p);
    expect(install.status).toBe(1);
    expect(`${install.stdout}${install.stderr}`).toContain(`index.js: a symbolic link to ${outside}, outside the plugin directory`);
    expect(abctl('describePlugins').status).toBe(0);
    expect(await exists(ranOutside)).toBe(false);
  });
});

describe('loading an entry module that leads outside its plugin', () => {
  it('refuses a bundled plugin whose entry module links outside it, without running that code', async () => {
    const dir = await writePlugin(bundled, { name: 'shipped' });
    await rm(join(dir, 'index.js'));
    await symlink(outside, join(dir, 'index.js'));
    await writePlugin(bundled, { name: 'shippedext', parentName: 'shipped' });

    const a = app();
    const inventory = await a.start();
    await a.stop();
    expect(await exists(ranOutside)).toBe(false);
    const record = inventory.records.get('shipped');
    expect(record?.state).toBe('broken');
    expect(record?.problems).toEqual([
      expect.objectContaining({
        code: 'PLUGIN_ENTRY_OUTSIDE',
        where: join(dir, 'index.js'),
        message: `plugin "shipped": entry module ${join(dir, 'index.js')} leads to ${outside}, outside the plugin directory ${dir}`,
      }),
    ]);
    expect(inventory.records.get('shippedext')).toMatchObject({ state: 'broken', disabledBy: 'shipped' });
  });

  it('refuses a hand-placed plugin whose main points through a linked directory', async () => {
    const dir = await writePlugin(join(instance, 'plugins'), { name: 'placed', extra: 'main=lib/index.js' });
    await symlink(root.path, join(dir, 'lib'));
    await writeFile(join(root.path, 'index.js'), await readFile(outside, 'utf8'));
    const a = app();
    const inventory = await a.start();
    await a.stop();
    expect(await exists(ranOutside)).toBe(false);
    expect(inventory.records.get('placed')?.problems[0]?.code).toBe('PLUGIN_ENTRY_OUTSIDE');
  });

  it('loads a plugin whose directory is a link (a plugin under development) and whose entry stays inside', async () => {
    const real = await writePlugin(join(root.path, 'dev'), { name: 'devplugin' });
    await writeFile(join(real, 'package.json'), '{ "type": "module" }\n');
    await mkdir(join(instance, 'plugins'), { recursive: true });
    await symlink(real, join(instance, 'plugins', 'devplugin'));
    expect(await readlink(join(instance, 'plugins', 'devplugin'))).toBe(real);
    const a = app();
    const inventory = await a.start();
    const owners = a.collector().getServicesWithOwner<{ name: string }>('IntrospectorPlugin').map((s) => s.owner);
    await a.stop();
    expect(inventory.records.get('devplugin')?.state).toBe('enabled');
    expect(owners).toContain('devplugin');
  });
});
