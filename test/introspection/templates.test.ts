/**
 * Content resources marked `template: true` are checked at introspection, after the whole
 * chain: a parse error or a variable that is neither a property of the appliance nor a
 * late-binding variable is the error of the plugin that added the template, and the catalog
 * is not touched. Real plugins in a real instance directory.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginError } from '../../core/errors.js';
import { Catalog } from '../../catalog/catalog.js';
import { renderAppliance } from '../../cli/commands/catalog/render.js';
import type { Application } from '../../services/app.js';
import { IntrospectJob } from '../../services/jobs/introspect-job.js';
import { tempDir } from '../helpers/plugins.js';
import { catalogFingerprint, openApp, writeTestPlugin } from './helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let instance: string;
let bundled: string;
let app: Application | undefined;

beforeEach(async () => {
  tmp = await tempDir('abctl-templates-');
  instance = join(tmp.path, 'instance');
  bundled = join(tmp.path, 'plugins');
  await mkdir(bundled);
});
afterEach(async () => {
  await app?.stop();
  app = undefined;
  await tmp.cleanup();
});

/** A root plugin `web` creating appliance `app` (property `port`, output `db`) and adding `template` as app.conf. */
async function webPlugin(template: string): Promise<void> {
  await writeTestPlugin(bundled, {
    name: 'web',
    dehydrate: `const a = ctx.createAppliance({ name: 'app', properties: [{ name: 'port', type: 'int', category: 'user', value: '80' }], outputs: [{ name: 'db', protocol: 'sql' }] });
      ctx.addContentResource(a, { name: 'app.conf', content: ${JSON.stringify(template)}, template: true });
      ctx.addContentResource(a, { name: 'notes.txt', content: '{{ not checked' });`,
  });
}

async function introspect(target = 'web'): Promise<unknown> {
  app = await openApp(instance, bundled);
  const job = app.get(IntrospectJob);
  return job.introspect(await job.prepare(target), {}).catch((e: unknown) => e);
}

describe('templates at introspection', () => {
  it('stores a template whose variables are properties or late bindings, marked as a template', async () => {
    await webPlugin('listen {{port}}\n# {{[ovab.instance.hostName]}} {{[ovab.output.db.port]}} {{[ovab.output.db.hostNames]}}\n');
    const r = await introspect();
    expect(r).toMatchObject({ name: 'app' });
    const a = await new Catalog(app!.layout).getAppliance('app');
    expect(a.contentResources.map((c) => [c.name, c.template])).toEqual([
      ['app.conf', true],
      ['notes.txt', false],
    ]);
    // In the catalog's XML only the template carries the marker; describe shows it.
    const xml = readFileSync(join(instance, 'catalog', 'appliances', 'app', 'appliance.xml'), 'utf8');
    expect(xml).toMatch(/<contentResource name="app.conf" [^>]*template="true"\/>/);
    expect(xml).toMatch(/<contentResource name="notes.txt" path="notes.txt" description=""\/>/);
    expect(renderAppliance(a, '').join('\n')).toContain('content resources: app.conf (template), notes.txt');
    // --json: `"template": true` on templates only.
    expect(JSON.parse(JSON.stringify(a)).contentResources.map((c: { template?: boolean }) => c.template)).toEqual([true, undefined]);
  });

  it('an unknown variable fails the introspection as the plugin error, naming template, line and variable; nothing is stored', async () => {
    await webPlugin('listen {{port}}\nserver_name {{[server.name]}};\nlog {{[ovab.output.nope.port]}}\n');
    const before = catalogFingerprint(instance);
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
    expect(catalogFingerprint(instance)).toEqual(before);
    expect(await new Catalog(app!.layout).hasAppliance('app')).toBe(false);
  });

  it('a template that does not parse is the plugin error too', async () => {
    await webPlugin('listen {{port}\n');
    const err = await introspect();
    expect(err).toMatchObject({ plugin: 'web', code: 'TEMPLATE_SYNTAX' });
    expect((err as PluginError).where).toMatch(/^appliance "app" > template "app.conf" line 1/);
  });

  it('checks after the whole chain: a template may use a property an extension adds later', async () => {
    await webPlugin('listen {{port}} {{[log.level]}}\n');
    await writeTestPlugin(bundled, {
      name: 'weblogs',
      parentName: 'web',
      dehydrate: `ctx.appliances[0].properties.add({ name: 'log.level', category: 'user', value: 'info' }, 'plugin');`,
    });
    expect(await introspect()).toMatchObject({ name: 'app', participants: ['web', 'weblogs'] });
  });

  it("an extension's bad template is the extension's error", async () => {
    await webPlugin('listen {{port}}\n');
    await writeTestPlugin(bundled, {
      name: 'weblogs',
      parentName: 'web',
      dehydrate: `ctx.addContentResource(ctx.appliances[0], { name: 'log.conf', content: 'level={{level}}', template: true });`,
    });
    expect(await introspect()).toMatchObject({ plugin: 'weblogs', code: 'TEMPLATE_VARIABLE_UNKNOWN', where: 'appliance "app" > template "log.conf" line 1, column 9' });
  });

  it('a template that is not UTF-8 is refused', async () => {
    await writeTestPlugin(bundled, {
      name: 'web',
      dehydrate: `const a = ctx.createAppliance({ name: 'app' }); ctx.addContentResource(a, { name: 'bin.conf', content: new Uint8Array([0xff, 0xfe, 0x00]), template: true });`,
    });
    expect(await introspect()).toMatchObject({ plugin: 'web', code: 'TEMPLATE_NOT_TEXT', where: 'appliance "app" > template "bin.conf"' });
  });
});
