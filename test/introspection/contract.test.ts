/**
 * Contract details a plain-JavaScript plugin relies on: errors carry a code and hint without
 * importing abctl, capture checks read through the reference host, and abctl's own option
 * names cannot be taken by job parameters.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginError, UserError } from '../../core/errors.js';
import { Catalog } from '../../catalog/catalog.js';
import type { Application } from '../../services/app.js';
import { CaptureJob } from '../../services/jobs/capture-job.js';
import { IntrospectJob } from '../../services/jobs/introspect-job.js';
import { tempDir } from '../helpers/plugins.js';
import { catalogFingerprint, openApp, writeTestPlugin } from './helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let instance: string;
let bundled: string;
let app: Application | undefined;

beforeEach(async () => {
  tmp = await tempDir('abctl-contract-');
  instance = join(tmp.path, 'instance');
  bundled = join(tmp.path, 'plugins');
  await mkdir(bundled);
});
afterEach(async () => {
  await app?.stop();
  app = undefined;
  await tmp.cleanup();
});

async function service(): Promise<IntrospectJob> {
  app = await openApp(instance, bundled);
  return app.get(IntrospectJob);
}

describe('plugin contract', () => {
  it('keeps the code and hint of a plain Error a plugin throws', async () => {
    await writeTestPlugin(bundled, {
      name: 'plain',
      dehydrate: `throw Object.assign(new Error('conf/app.conf is missing'), { code: 'APP_CONF_MISSING', hint: 'point --app at an installation' });`,
    });
    const s = await service();
    const err = await s.introspect(await s.prepare('plain'), {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err).toMatchObject({ plugin: 'plain', code: 'APP_CONF_MISSING', message: 'conf/app.conf is missing', hint: 'point --app at an installation' });
  });

  it('reports a system error from a plugin as that plugin failing, not as its own code', async () => {
    await writeTestPlugin(bundled, { name: 'sys', dehydrate: `await fs.readFile('/nonexistent/abctl-file');` });
    const s = await service();
    const err = await s.introspect(await s.prepare('sys'), {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ plugin: 'sys', code: 'PLUGIN_FAILED' });
    expect((err as Error).message).toMatch(/^dehydrate failed: .*ENOENT/);
  });

  it('hands packager validation the reference host, and its refusal stores nothing', async () => {
    const product = join(tmp.path, 'product');
    await mkdir(join(product, 'run'), { recursive: true });
    await writeFile(join(product, 'run', 'state'), 'busy\n');
    await writeTestPlugin(bundled, {
      name: 'checked',
      dehydrate: `ctx.createAppliance({ name: 'app', fileSets: [{ name: 'home', root: ${JSON.stringify(product)} }] });`,
      start: `context.registerService(context.ids.PackagerValidationPlugin, {
        pluginName: 'checked',
        async validateCapture({ fileSetRoots, host }) {
          const state = (await host.readText(fileSetRoots[0] + '/run/state')).trim();
          return state === 'busy' ? 'product is busy (read through the ' + host.kind + ' host)' : undefined;
        },
      });`,
    });
    const s = await service();
    const before = catalogFingerprint(instance);
    const err = await s.introspect(await s.prepare('checked'), {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe('checked refused the capture of app: product is busy (read through the local host)');
    expect(catalogFingerprint(instance)).toEqual(before);

    await writeFile(join(product, 'run', 'state'), 'idle\n');
    const summary = await s.introspect(await s.prepare('checked'), {});
    expect(summary.captured.map((c) => c.fileSet)).toEqual(['home']);
  });

  it('names archives after their codec and drops the old file when a recapture changes it', async () => {
    const product = join(tmp.path, 'product');
    await mkdir(join(product, 'conf'), { recursive: true });
    await writeFile(join(product, 'conf', 'a.conf'), 'x=1\n');
    await writeTestPlugin(bundled, { name: 'zipped', dehydrate: `ctx.createAppliance({ name: 'app', fileSets: [{ name: 'home', root: ${JSON.stringify(product)} }] });` });
    const s = await service();
    await s.introspect(await s.prepare('zipped'), {}, { codec: 'zstd' });
    const catalog = app!.get(Catalog);
    const zst = await catalog.fileSetArchivePath('app', 'home');
    expect(zst).toMatch(/home\.tar\.zst$/);
    expect(execFileSync('tar', ['--zstd', '-tf', zst], { encoding: 'utf8' })).toContain('./conf/a.conf');
    expect((await catalog.fileSetArchives('app')).map((a) => a.codec)).toEqual(['zstd']);

    await app!.get(CaptureJob).capture('app', { codec: 'none' });
    const tar = await catalog.fileSetArchivePath('app', 'home');
    expect(tar).toMatch(/home\.tar$/);
    expect(existsSync(zst)).toBe(false);
    expect(execFileSync('tar', ['-tf', tar], { encoding: 'utf8' })).toContain('./conf/a.conf');
    expect(await catalog.verifyFileSet('app', 'home')).toBe(true);
  });

  it('removes the scratch dirs of killed jobs (with their partial archives) and keeps live ones', async () => {
    await writeTestPlugin(bundled, { name: 'plain2' });
    // A pid far above pid_max cannot be running; our own pid is.
    const dead = join(instance, 'tmp', 'capture-4194999-deadbeef');
    const live = join(instance, 'tmp', `introspect-${process.pid}-cafe0123`);
    await mkdir(dead, { recursive: true });
    await writeFile(join(dead, 'home.archive.partial-1234'), 'half an archive');
    await mkdir(live, { recursive: true });
    const s = await service();
    await s.introspect(await s.prepare('plain2'), { app: 'swept' });
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('does not trust a plugin that claims to be the framework to use reserved names', async () => {
    await writeTestPlugin(bundled, {
      name: 'sneaky',
      dehydrate: `const a = ctx.createAppliance({ name: 'app', inputs: [{ name: 'http', port: 80, protocols: ['http'] }] });
        a.getInput('http').properties.add({ name: 'ovab.hidden', value: 'x' }, 'framework');`,
    });
    const s = await service();
    const before = catalogFingerprint(instance);
    const err = await s.introspect(await s.prepare('sneaky'), {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ plugin: 'sneaky', code: 'PROPERTY_NAME_RESERVED', where: 'appliance "app" > input "http"' });
    expect(catalogFingerprint(instance)).toEqual(before);
  });

  it('refuses job parameters named like abctl options of the introspect command', async () => {
    await writeTestPlugin(bundled, { name: 'clash', params: [{ name: 'name', type: 'string', description: 'x' }] });
    const s = await service();
    await expect(s.prepare('clash')).rejects.toThrow(/"name" is reserved/);
  });

  it('stops between members of the chain when interrupted and stores nothing', async () => {
    await writeTestPlugin(bundled, { name: 'slow' });
    await writeTestPlugin(bundled, { name: 'slowext', parentName: 'slow', dehydrate: `throw new Error('must not run');` });
    const s = await service();
    const controller = new AbortController();
    const prepared = await s.prepare('slow');
    // Abort as soon as the root has run: the extension must not start.
    const root = prepared.chain.members[0]!.service as { dehydrate: (ctx: unknown) => Promise<void> };
    const original = root.dehydrate.bind(root);
    root.dehydrate = async (ctx) => {
      await original(ctx);
      controller.abort(new Error('interrupted'));
    };
    const err = await s.introspect(prepared, {}, { signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'JOB_INTERRUPTED', message: 'introspection interrupted; nothing was stored' });
    expect(catalogFingerprint(instance).size).toBe(0);
  });
});
