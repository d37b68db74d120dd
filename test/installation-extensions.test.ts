/**
 * The install rules ("no delete, no downgrade while appliances made with it exist") for
 * extensions, against what a real introspection records: real plugin directories installed
 * into a real instance, a real chain run, the real catalog files. No stand-ins.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/catalog.js';
import { AtomicAssembly } from '../core/metadata/index.js';
import { Application } from '../services/app.js';
import { IntrospectJob } from '../services/jobs/introspect-job.js';
import { PluginInstaller } from '../services/plugins/installation.js';
import { abctl, cliEnv, openApp, rejection, writeTestPlugin } from './introspection/helpers.js';
import { instanceEach } from './support/each-test.js';

const t = instanceEach('abctl-install-ext-', async (t) => {
  // web 2.0 <- webext 1.5 <- webleaf 1.0, installed as copies; site1 introspected through the whole chain.
  await writeTestPlugin(t.product, { name: 'web', version: '2.0' });
  await writeTestPlugin(t.product, { name: 'webext', version: '1.5', parentName: 'web' });
  await writeTestPlugin(t.product, { name: 'webleaf', parentName: 'webext' });
  await installer().install(t.product);
  const job = (await t.open()).get(IntrospectJob);
  await job.introspect(await job.prepare('web'), { app: 'site1' });
});

const installer = (): PluginInstaller => Application.create({ instanceRoot: t.instance, bundledPluginsDir: t.bundled }).get(PluginInstaller);
const catalog = (): Catalog => Application.create({ instanceRoot: t.instance, bundledPluginsDir: t.bundled }).get(Catalog);
const installedVersion = async (name: string): Promise<string | undefined> =>
  readFile(join(t.instance, 'plugins', name, 'plugin.config'), 'utf8').then((s) => /version=(.*)/.exec(s)?.[1], () => undefined);

/** An older webext in its own directory, to install over the newer one. */
const olderWebext = (): Promise<string> => writeTestPlugin(join(t.path, 'older'), { name: 'webext', version: '1.0', parentName: 'web' });

describe('appliances record the plugins that made them', () => {
  it('the appliance lists the root and every extension with its version, in the XML and in describeAppliances', async () => {
    const made = [
      { name: 'web', version: '2.0' },
      { name: 'webext', version: '1.5' },
      { name: 'webleaf', version: '1.0' },
    ];
    const site = await catalog().getAppliance('site1');
    expect(site.creator).toBe('web');
    expect(site.participants).toEqual(made);
    const xml = await readFile(join(t.instance, 'catalog', 'appliances', 'site1', 'appliance.xml'), 'utf8');
    expect(xml).toContain('<participant name="webext" version="1.5"/>');

    const env = cliEnv(t.instance, t.bundled);
    const text = abctl(['describeAppliances', '--name', 'site1'], env);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain('made with: web 2.0, webext 1.5, webleaf 1.0');
    const json = abctl(['describeAppliances', '--name', 'site1', '--json'], env);
    expect((JSON.parse(json.out) as { appliances: { participants: unknown }[] }).appliances[0]?.participants).toEqual(made);
  });
});

describe('extensions in use', () => {
  it('an extension that created appliances in its root\'s atomic assembly is in use through each of them', async () => {
    const dir = join(t.path, 'suite');
    await writeTestPlugin(dir, {
      name: 'suite',
      fields: { allowExtensionsToCreateAppliances: true },
      dehydrate: `ctx.createAtomicAssembly({ name: 'pack' }); ctx.createAppliance({ name: 'front' });`,
    });
    await writeTestPlugin(dir, { name: 'suiteext', version: '3.1', parentName: 'suite', dehydrate: `ctx.createAppliance({ name: 'back' });` });
    await installer().install(dir);
    const app = await openApp(t.instance, t.bundled);
    try {
      const job = app.get(IntrospectJob);
      await job.introspect(await job.prepare('suite'), {});
    } finally {
      await app.stop();
    }
    const pack = await catalog().getAssembly('pack');
    expect(pack instanceof AtomicAssembly && pack.participants).toEqual([{ name: 'suite', version: '1.0' }, { name: 'suiteext', version: '3.1' }]);
    const err = await rejection(installer().uninstall('suiteext'));
    expect(err.message).toMatch(/made with suiteext: pack\/back \(by suiteext 3\.1\), pack\/front \(by suiteext 3\.1\)/);
    await catalog().deleteAssembly('pack');
    expect((await installer().uninstall('suiteext')).removed).toEqual(['suiteext']);
  });

  it('uninstalling or downgrading an extension is refused while the appliance exists, naming it; allowed once it is deleted', async () => {
    const leaf = await rejection(installer().uninstall('webleaf'));
    expect(leaf.code).toBe('PLUGIN_IN_USE');
    expect(leaf.message).toMatch(/cannot uninstall webleaf: .*site1 \(by webleaf 1\.0\)/);
    expect(leaf.hint).toMatch(/deleteAppliance/);
    // Uninstalling webext takes webleaf with it: both are named.
    expect((await rejection(installer().uninstall('webext'))).message).toMatch(/site1 \(by webext 1\.5\), site1 \(by webleaf 1\.0\)/);

    const older = await olderWebext();
    const [copy] = await installer().install(older, { allowDowngrade: true });
    expect(copy).toMatchObject({ name: 'webext', action: 'refused' });
    expect(copy?.reason).toMatch(/cannot downgrade webext from 1\.5 to 1\.0: .*site1 \(by webext 1\.5\)/);
    expect(await installedVersion('webext')).toBe('1.5');

    await catalog().deleteAppliance('site1');
    expect(await installer().install(older, { allowDowngrade: true })).toMatchObject([{ name: 'webext', action: 'downgraded', previousVersion: '1.5' }]);
    expect((await installer().uninstall('webext')).removed.sort()).toEqual(['webext', 'webleaf']);
    expect(await installedVersion('web')).toBe('2.0');
  });

  it('a link that lowers the version follows the same rules as a copy, and so does replacing a link', async () => {
    const older = await olderWebext();
    // Without --allow-downgrade: skipped, as a copy would be.
    expect(await installer().install(older, { link: true })).toMatchObject([{ name: 'webext', action: 'skipped' }]);
    const [refused] = await installer().install(older, { link: true, allowDowngrade: true });
    expect(refused).toMatchObject({ action: 'refused' });
    expect(refused?.reason).toMatch(/site1 \(by webext 1\.5\)/);
    expect(await installedVersion('webext')).toBe('1.5');

    // A link of the same version is fine (the edit loop); replacing it with an older copy is not.
    const same = await writeTestPlugin(join(t.path, 'dev'), { name: 'webext', version: '1.5', parentName: 'web' });
    expect(await installer().install(same, { link: true })).toMatchObject([{ action: 'linked' }]);
    const [overLink] = await installer().install(older, { allowDowngrade: true });
    expect(overLink).toMatchObject({ action: 'refused' });
    expect(overLink?.reason).toMatch(/site1/);

    await catalog().deleteAppliance('site1');
    expect(await installer().install(older, { link: true, allowDowngrade: true })).toMatchObject([{ action: 'linked', version: '1.0', previousVersion: '1.5' }]);
  });

  it('disabling an extension stays allowed and warns which appliances will be rehydrated without it', async () => {
    const { disabled, warnings } = await installer().disable('webleaf');
    expect(disabled).toEqual(['webleaf']);
    expect(warnings).toEqual([expect.stringMatching(/site1 \(by webleaf 1\.0\); their rehydration .* now runs without webleaf/)]);
    const r = abctl(['disablePlugin', '--name', 'webext'], cliEnv(t.instance, t.bundled));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^warning: appliances made with webext or webleaf exist: site1 \(by webext 1\.5\), site1 \(by webleaf 1\.0\)/m);
  });

  it('answers at once after a killed catalog commit (the check runs under the lock installation holds)', async () => {
    // What a killed introspection leaves: staging in the catalog, which the next reader clears up.
    await mkdir(join(t.instance, 'catalog', '.staging-killed'));
    const started = Date.now();
    expect((await rejection(installer().uninstall('webleaf'))).code).toBe('PLUGIN_IN_USE');
    // Taking the lock again would wait for itself and fail INSTANCE_BUSY after 10 s.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(existsSync(join(t.instance, 'catalog', '.staging-killed'))).toBe(false);
  });

  it('a damaged appliance.xml refuses uninstall and downgrade, naming the file and how to go on', async () => {
    const file = join(t.instance, 'catalog', 'appliances', 'site1', 'appliance.xml');
    await writeFile(file, '<appliance formatVersion="1" name="site1"');
    const err = await rejection(installer().uninstall('webleaf'));
    expect(err.code).toBe('PLUGIN_USE_UNKNOWN');
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/cannot tell whether appliances made with webleaf exist/);
    expect(err.hint).toMatch(/verifyCatalog.*repair the file.*delete the appliance/);
    const [down] = await installer().install(await olderWebext(), { allowDowngrade: true });
    expect(down).toMatchObject({ action: 'refused' });
    expect(down?.reason).toContain(file);

    // Deleting the damaged appliance by hand (or restoring it) lets it go ahead.
    await rm(join(t.instance, 'catalog', 'appliances', 'site1'), { recursive: true });
    expect((await installer().uninstall('webleaf')).removed).toEqual(['webleaf']);
  });
});
