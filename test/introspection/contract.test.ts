/**
 * Contract details a plain-JavaScript plugin relies on: errors carry a code and hint without
 * importing abctl, capture checks read through the reference host, abctl's own option names
 * cannot be taken by job parameters, and content resources marked as templates are checked.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PluginError, UserError } from '../../core/errors.js';
import { Catalog } from '../../catalog/catalog.js';
import { renderAppliance } from '../../cli/commands/catalog/render.js';
import { CaptureJob } from '../../services/jobs/capture-job.js';
import { IntrospectJob } from '../../services/jobs/introspect-job.js';
import { catalogFingerprint, writeTestPlugin } from './helpers.js';
import { instanceEach } from '../support/each-test.js';

const t = instanceEach('abctl-contract-');

async function service(): Promise<IntrospectJob> {
  return (await t.open()).get(IntrospectJob);
}

describe('plugin contract', () => {
  it('keeps the code and hint of a plain Error a plugin throws', async () => {
    await writeTestPlugin(t.bundled, {
      name: 'plain',
      dehydrate: `throw Object.assign(new Error('conf/app.conf is missing'), { code: 'APP_CONF_MISSING', hint: 'point --app at an installation' });`,
    });
    const s = await service();
    const err = await s.introspect(await s.prepare('plain'), {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err).toMatchObject({ plugin: 'plain', code: 'APP_CONF_MISSING', message: 'conf/app.conf is missing', hint: 'point --app at an installation' });
  });

  it('reports a system error from a plugin as that plugin failing, not as its own code', async () => {
    await writeTestPlugin(t.bundled, { name: 'sys', dehydrate: `await fs.readFile('/nonexistent/abctl-file');` });
    const s = await service();
    const err = await s.introspect(await s.prepare('sys'), {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ plugin: 'sys', code: 'PLUGIN_FAILED' });
    expect((err as Error).message).toMatch(/^dehydrate failed: .*ENOENT/);
  });

  it('hands packager validation the reference host, and its refusal stores nothing', async () => {
    const product = join(t.path, 'product');
    await mkdir(join(product, 'run'), { recursive: true });
    await writeFile(join(product, 'run', 'state'), 'busy\n');
    await writeTestPlugin(t.bundled, {
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
    const before = catalogFingerprint(t.instance);
    const err = await s.introspect(await s.prepare('checked'), {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe('checked refused the capture of app: product is busy (read through the local host)');
    expect(catalogFingerprint(t.instance)).toEqual(before);

    await writeFile(join(product, 'run', 'state'), 'idle\n');
    const summary = await s.introspect(await s.prepare('checked'), {});
    expect(summary.captured.map((c) => c.fileSet)).toEqual(['home']);
  });

  it('names archives after their codec and drops the old file when a recapture changes it', async () => {
    const product = join(t.path, 'product');
    await mkdir(join(product, 'conf'), { recursive: true });
    await writeFile(join(product, 'conf', 'a.conf'), 'x=1\n');
    await writeTestPlugin(t.bundled, { name: 'zipped', dehydrate: `ctx.createAppliance({ name: 'app', fileSets: [{ name: 'home', root: ${JSON.stringify(product)} }] });` });
    const s = await service();
    await s.introspect(await s.prepare('zipped'), {}, { codec: 'zstd' });
    const catalog = t.app!.get(Catalog);
    const zst = await catalog.fileSetArchivePath('app', 'home');
    expect(zst).toMatch(/home\.tar\.zst$/);
    expect(execFileSync('tar', ['--zstd', '-tf', zst], { encoding: 'utf8' })).toContain('./conf/a.conf');
    expect((await catalog.fileSetArchives('app')).map((a) => a.codec)).toEqual(['zstd']);

    await t.app!.get(CaptureJob).capture('app', { codec: 'none' });
    const tar = await catalog.fileSetArchivePath('app', 'home');
    expect(tar).toMatch(/home\.tar$/);
    expect(existsSync(zst)).toBe(false);
    expect(execFileSync('tar', ['-tf', tar], { encoding: 'utf8' })).toContain('./conf/a.conf');
    expect(await catalog.verifyFileSet('app', 'home')).toBe(true);
  });

  it('removes the scratch dirs of killed jobs (with their partial archives) and keeps live ones', async () => {
    await writeTestPlugin(t.bundled, { name: 'plain2' });
    // A pid far above pid_max cannot be running; our own pid is.
    const dead = join(t.instance, 'tmp', 'capture-4194999-deadbeef');
    const live = join(t.instance, 'tmp', `introspect-${process.pid}-cafe0123`);
    await mkdir(dead, { recursive: true });
    await writeFile(join(dead, 'home.archive.partial-1234'), 'half an archive');
    await mkdir(live, { recursive: true });
    const s = await service();
    await s.introspect(await s.prepare('plain2'), { app: 'swept' });
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('does not trust a plugin that claims to be the framework to use reserved names', async () => {
    await writeTestPlugin(t.bundled, {
      name: 'sneaky',
      dehydrate: `const a = ctx.createAppliance({ name: 'app', inputs: [{ name: 'http', port: 80, protocols: ['http'] }] });
        a.getInput('http').properties.add({ name: 'ovab.hidden', value: 'x' }, 'framework');`,
    });
    const s = await service();
    const before = catalogFingerprint(t.instance);
    const err = await s.introspect(await s.prepare('sneaky'), {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ plugin: 'sneaky', code: 'PROPERTY_NAME_RESERVED', where: 'appliance "app" > input "http"' });
    expect(catalogFingerprint(t.instance)).toEqual(before);
  });

  it('refuses job parameters named like abctl options of the introspect command', async () => {
    await writeTestPlugin(t.bundled, { name: 'clash', params: [{ name: 'name', type: 'string', description: 'x' }] });
    const s = await service();
    await expect(s.prepare('clash')).rejects.toThrow(/"name" is reserved/);
  });

  it('stops between members of the chain when interrupted and stores nothing', async () => {
    await writeTestPlugin(t.bundled, { name: 'slow' });
    await writeTestPlugin(t.bundled, { name: 'slowext', parentName: 'slow', dehydrate: `throw new Error('must not run');` });
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
    expect(catalogFingerprint(t.instance).size).toBe(0);
  });
});

/** A root plugin `web` creating appliance `app` (property `port`, output `db`) and adding `template` as app.conf. */
async function webPlugin(template: string): Promise<void> {
  await writeTestPlugin(t.bundled, {
    name: 'web',
    dehydrate: `const a = ctx.createAppliance({ name: 'app', properties: [{ name: 'port', type: 'int', category: 'user', value: '80' }], outputs: [{ name: 'db', protocol: 'sql' }] });
      ctx.addContentResource(a, { name: 'app.conf', content: ${JSON.stringify(template)}, template: true });
      ctx.addContentResource(a, { name: 'notes.txt', content: '{{ not checked' });`,
  });
}

async function introspect(target = 'web'): Promise<unknown> {
  const s = await service();
  return s.introspect(await s.prepare(target), {}).catch((e: unknown) => e);
}

/**
 * Content resources marked `template: true` are checked after the whole chain: a parse error or
 * a variable that is neither a property of the appliance nor a late-binding variable is the
 * error of the plugin that added the template, and the catalog is not touched.
 */
describe('templates at introspection', () => {
  it('stores a template whose variables are properties or late bindings, marked as a template', async () => {
    await webPlugin('listen {{port}}\n# {{[ovab.instance.hostName]}} {{[ovab.output.db.port]}} {{[ovab.output.db.hostNames]}}\n');
    const r = await introspect();
    expect(r).toMatchObject({ name: 'app' });
    const a = await new Catalog(t.app!.layout).getAppliance('app');
    expect(a.contentResources.map((c) => [c.name, c.template])).toEqual([
      ['app.conf', true],
      ['notes.txt', false],
    ]);
    // In the catalog's XML only the template carries the marker; describe shows it.
    const xml = readFileSync(join(t.instance, 'catalog', 'appliances', 'app', 'appliance.xml'), 'utf8');
    expect(xml).toMatch(/<contentResource name="app.conf" [^>]*template="true"\/>/);
    expect(xml).toMatch(/<contentResource name="notes.txt" path="notes.txt" description=""\/>/);
    expect(renderAppliance(a, '').join('\n')).toContain('content resources: app.conf (template), notes.txt');
    // --json: `"template": true` on templates only.
    expect(JSON.parse(JSON.stringify(a)).contentResources.map((c: { template?: boolean }) => c.template)).toEqual([true, undefined]);
  });

  it('an unknown variable fails the introspection as the plugin error, naming template, line and variable; nothing is stored', async () => {
    await webPlugin('listen {{port}}\nserver_name {{[server.name]}};\nlog {{[ovab.output.nope.port]}}\n');
    const before = catalogFingerprint(t.instance);
    const err = await introspect();
    expect(err).toBeInstanceOf(PluginError);
    expect(err).toMatchObject({
      plugin: 'web',
      code: 'TEMPLATE_VARIABLE_UNKNOWN',
      where: 'appliance "app" > template "app.conf" line 2, column 15',
      message: 'unknown variable "server.name": the appliance has no property of that name',
    });
    const hint = (err as PluginError).hint ?? '';
    expect(hint).toContain('also unknown: "ovab.output.nope.port" (line 3)');
    expect(hint).toContain('ovab.output.db.port');
    expect(catalogFingerprint(t.instance)).toEqual(before);
    expect(await new Catalog(t.app!.layout).hasAppliance('app')).toBe(false);
  });

  it('a template that does not parse is the plugin error too', async () => {
    await webPlugin('listen {{port}\n');
    const err = await introspect();
    expect(err).toMatchObject({ plugin: 'web', code: 'TEMPLATE_SYNTAX' });
    expect((err as PluginError).where).toMatch(/^appliance "app" > template "app.conf" line 1/);
  });

  it('checks after the whole chain: a template may use a property an extension adds later', async () => {
    await webPlugin('listen {{port}} {{[log.level]}}\n');
    await writeTestPlugin(t.bundled, {
      name: 'weblogs',
      parentName: 'web',
      dehydrate: `ctx.appliances[0].properties.add({ name: 'log.level', category: 'user', value: 'info' }, 'plugin');`,
    });
    expect(await introspect()).toMatchObject({ name: 'app', participants: ['web', 'weblogs'] });
  });

  it("an extension's bad template is the extension's error", async () => {
    await webPlugin('listen {{port}}\n');
    await writeTestPlugin(t.bundled, {
      name: 'weblogs',
      parentName: 'web',
      dehydrate: `ctx.addContentResource(ctx.appliances[0], { name: 'log.conf', content: 'level={{level}}', template: true });`,
    });
    expect(await introspect()).toMatchObject({ plugin: 'weblogs', code: 'TEMPLATE_VARIABLE_UNKNOWN', where: 'appliance "app" > template "log.conf" line 1, column 9' });
  });

  it('a template that is not UTF-8 is refused', async () => {
    await writeTestPlugin(t.bundled, {
      name: 'web',
      dehydrate: `const a = ctx.createAppliance({ name: 'app' }); ctx.addContentResource(a, { name: 'bin.conf', content: new Uint8Array([0xff, 0xfe, 0x00]), template: true });`,
    });
    expect(await introspect()).toMatchObject({ plugin: 'web', code: 'TEMPLATE_NOT_TEXT', where: 'appliance "app" > template "bin.conf"' });
  });
});
