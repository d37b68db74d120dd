/**
 * The extension chain as the introspector manager runs it, with real plugin directories on
 * a real instance: order, what each participant sees, abort on the first error with no
 * catalog change, and who may create appliances.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PluginError } from '../../core/errors.js';
import { Appliance, AtomicAssembly } from '../../core/metadata/index.js';
import { Catalog } from '../../catalog/catalog.js';
import { IntrospectJob } from '../../services/jobs/introspect-job.js';
import { catalogFingerprint, rejection, writeTestPlugin } from './helpers.js';
import { instanceEach } from '../support/each-test.js';

const t = instanceEach('abctl-chain-');

async function start(): Promise<IntrospectJob> {
  return (await t.open()).get(IntrospectJob);
}

/** Records into the trace property what this participant saw: the trace so far and every parameter. */
const recordSeen = `const a = ctx.appliances[0];
  a.properties.set('trace', a.properties.getValue('trace') + '>' + NAME, 'plugin');
  a.properties.add({ name: 'saw.' + NAME, type: 'string', category: 'system', value: JSON.stringify({ trace: a.properties.getValue('trace'), params: ctx.parameters, props: a.properties.names().length }) }, 'plugin');`;

describe('extension order', () => {
  it('runs the plugin, then each extension after its parent (depth 3 and siblings), each seeing what came before', async () => {
    await writeTestPlugin(t.bundled, {
      name: 'root',
      params: [
        { name: 'app', type: 'string', description: 'appliance name', required: true },
        { name: 'root-level', type: 'integer', description: 'x', defaultValue: 3 },
      ],
    });
    await writeTestPlugin(t.bundled, { name: 'ext1', parentName: 'root', dehydrate: recordSeen, params: [{ name: 'ext1-flag', type: 'boolean', description: 'x' }] });
    await writeTestPlugin(t.bundled, { name: 'ext2', parentName: 'ext1', dehydrate: recordSeen });
    await writeTestPlugin(t.bundled, { name: 'ext3', parentName: 'ext2', dehydrate: recordSeen, params: [{ name: 'deep', type: 'path', description: 'x' }] });
    await writeTestPlugin(t.bundled, { name: 'sib', parentName: 'root', dehydrate: recordSeen });
    const service = await start();
    const prepared = await service.prepare('root');
    expect(prepared.parameters.map((p) => [p.name, p.declaredBy])).toEqual(
      expect.arrayContaining([
        ['app', 'root'],
        ['root-level', 'root'],
        ['ext1-flag', 'ext1'],
        ['deep', 'ext3'],
      ]),
    );
    const summary = await service.introspect(prepared, { app: 'ordered', 'root-level': 3, 'ext1-flag': true, deep: '/opt/x' });

    const order = summary.participants;
    expect(order[0]).toBe('root');
    expect(order).toHaveLength(5);
    // Parent before child; siblings in any order.
    expect(order.indexOf('ext1')).toBeLessThan(order.indexOf('ext2'));
    expect(order.indexOf('ext2')).toBeLessThan(order.indexOf('ext3'));
    expect(order.indexOf('sib')).toBeGreaterThan(0);

    const stored = await t.app!.get(Catalog).getAppliance('ordered');
    // The stored trace is the real execution order, and equals what the summary reports.
    expect(stored.properties.getValue('trace')).toBe(order.join('>'));
    for (const name of ['ext1', 'ext2', 'ext3', 'sib']) {
      const saw = JSON.parse(stored.properties.getValue(`saw.${name}`)!) as { trace: string; params: Record<string, unknown>; props: number };
      // Each one saw the trace of everything that ran before it (its own name appended last).
      expect(saw.trace).toBe(order.slice(0, order.indexOf(name) + 1).join('>'));
      // ...and every parameter of the job, the extensions' own included.
      expect(saw.params).toEqual({ app: 'ordered', 'root-level': 3, 'ext1-flag': true, deep: '/opt/x' });
    }
    // The framework's parts: creator and default type are the root plugin's, a default interface exists.
    expect(stored.creator).toBe('root');
    expect(stored.type).toBe('root');
    expect(stored.interfaces.length).toBeGreaterThan(0);
  });
});

describe('abort on the first error', () => {
  it('stops at a failing extension: later ones do not run, the error names it, the catalog is unchanged', async () => {
    const marker = join(t.path, 'ran');
    await mkdir(marker);
    const mark = `await fs.writeFile(${JSON.stringify(marker)} + '/' + NAME, '');`;
    await writeTestPlugin(t.bundled, { name: 'root', dehydrate: `${mark} ctx.createAppliance({ name: 'app' });` });
    await writeTestPlugin(t.bundled, { name: 'good', parentName: 'root', dehydrate: mark });
    await writeTestPlugin(t.bundled, { name: 'bad', parentName: 'good', dehydrate: `${mark} throw new Error('the product database is not reachable');` });
    await writeTestPlugin(t.bundled, { name: 'after', parentName: 'bad', dehydrate: mark });

    const service = await start();
    // Something in the catalog already, so that "unchanged" compares a non-empty catalog.
    const catalog = t.app!.get(Catalog);
    await catalog.putAppliance(new Appliance({ name: 'existing', creator: 'root' }));
    const before = catalogFingerprint(t.instance);
    expect(before.size).toBeGreaterThan(0);

    const err = await rejection(service.introspect(await service.prepare('root'), {}));
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).plugin).toBe('bad');
    expect(err.message).toContain('the product database is not reachable');
    expect(existsSync(join(marker, 'root'))).toBe(true);
    expect(existsSync(join(marker, 'good'))).toBe(true);
    expect(existsSync(join(marker, 'bad'))).toBe(true);
    expect(existsSync(join(marker, 'after'))).toBe(false);
    expect(catalogFingerprint(t.instance)).toEqual(before);
    expect(await catalog.hasAppliance('app')).toBe(false);
  });

  it('writes nothing when the capture fails after the whole chain ran', async () => {
    const root = join(t.path, 'product');
    await mkdir(join(root, 'data'), { recursive: true });
    await writeFile(join(root, 'data', 'a.txt'), 'a');
    // The definition points at a directory that does not exist: the chain succeeds, capture fails.
    await writeTestPlugin(t.bundled, {
      name: 'root',
      dehydrate: `ctx.createAppliance({ name: 'app', fileSets: [{ name: 'home', root: ${JSON.stringify(join(root, 'missing'))} }] });`,
    });
    const service = await start();
    const before = catalogFingerprint(t.instance);
    const err = await rejection(service.introspect(await service.prepare('root'), {}));
    expect(err.code).toBe('CAPTURE_ROOT_INVALID');
    expect(catalogFingerprint(t.instance)).toEqual(before);
    // Nothing left behind in the instance's tmp dir either.
    expect(existsSync(join(t.instance, 'tmp')) ? readdirSync(join(t.instance, 'tmp')) : []).toEqual([]);
  });

  it('writes nothing when a packager validation plugin refuses the capture, and names it', async () => {
    const root = join(t.path, 'product');
    await mkdir(root);
    await writeFile(join(root, 'f'), 'x');
    await writeTestPlugin(t.bundled, {
      name: 'root',
      dehydrate: `ctx.createAppliance({ name: 'app', fileSets: [{ name: 'home', root: ${JSON.stringify(root)} }] });`,
      start: `context.registerService(context.ids.PackagerValidationPlugin, { pluginName: 'root', validateCapture: () => 'the product is running' });`,
    });
    const service = await start();
    const before = catalogFingerprint(t.instance);
    const err = await rejection(service.introspect(await service.prepare('root'), {}));
    expect(err.code).toBe('CAPTURE_REFUSED');
    expect(err.message).toContain('root refused the capture of app: the product is running');
    // Nothing was stored, so the hint must not send the user to captureFileSets on an appliance that does not exist.
    expect(err.hint).toMatch(/^nothing was stored; .* introspect again, or introspect with --defer-capture and run abctl captureFileSets --appliance app /);
    expect(catalogFingerprint(t.instance)).toEqual(before);
  });

  it('writes nothing when the chain yields no appliance', async () => {
    await writeTestPlugin(t.bundled, { name: 'root', dehydrate: '/* finds nothing */' });
    const service = await start();
    const before = catalogFingerprint(t.instance);
    const err = await rejection(service.introspect(await service.prepare('root'), {}));
    expect(err.code).toBe('DEHYDRATION_EMPTY');
    expect(catalogFingerprint(t.instance)).toEqual(before);
  });
});

describe('extensions creating appliances', () => {
  it('refuses EXTENSION_CANNOT_CREATE unless the root plugin allows it, and nothing is stored', async () => {
    await writeTestPlugin(t.bundled, { name: 'root' });
    await writeTestPlugin(t.bundled, { name: 'maker', parentName: 'root', dehydrate: `ctx.createAppliance({ name: 'extra' });` });
    const service = await start();
    const before = catalogFingerprint(t.instance);
    const err = await rejection(service.introspect(await service.prepare('root'), { app: 'main' }));
    expect(err.code).toBe('EXTENSION_CANNOT_CREATE');
    expect((err as PluginError).plugin).toBe('maker');
    expect(err.message).toContain('maker');
    expect(catalogFingerprint(t.instance)).toEqual(before);
  });

  it('refuses an extension creating an atomic assembly too', async () => {
    await writeTestPlugin(t.bundled, { name: 'root' });
    await writeTestPlugin(t.bundled, { name: 'maker', parentName: 'root', dehydrate: `ctx.createAtomicAssembly({ name: 'aa' });` });
    const service = await start();
    const err = await rejection(service.introspect(await service.prepare('root'), {}));
    expect(err.code).toBe('EXTENSION_CANNOT_CREATE');
  });

  it('lets an extension add an appliance to the atomic assembly when the root plugin allows it', async () => {
    await writeTestPlugin(t.bundled, {
      name: 'root',
      fields: { allowExtensionsToCreateAppliances: true },
      dehydrate: `ctx.createAtomicAssembly({ name: 'cluster' }); ctx.createAppliance({ name: 'primary', fileSets: [] });`,
    });
    await writeTestPlugin(t.bundled, { name: 'maker', parentName: 'root', dehydrate: `ctx.createAppliance({ name: 'secondary' });` });
    const service = await start();
    const summary = await service.introspect(await service.prepare('root'), {});
    expect(summary.kind).toBe('atomicAssembly');
    expect(summary.appliances.map((a) => a.name)).toEqual(['primary', 'secondary']);
    const stored = await t.app!.get(Catalog).getAssembly('cluster');
    expect(stored).toBeInstanceOf(AtomicAssembly);
    const members = (stored as AtomicAssembly).appliances;
    // The framework, not the extension, is the creator of record.
    expect(members.map((a) => [a.name, a.creator])).toEqual([
      ['primary', 'root'],
      ['secondary', 'root'],
    ]);
  });

  it('still refuses a plain appliance from an allowed extension when there is no atomic assembly', async () => {
    await writeTestPlugin(t.bundled, { name: 'root', fields: { allowExtensionsToCreateAppliances: true } });
    await writeTestPlugin(t.bundled, { name: 'maker', parentName: 'root', dehydrate: `ctx.createAppliance({ name: 'extra' });` });
    const service = await start();
    const err = await rejection(service.introspect(await service.prepare('root'), {}));
    expect(err.code).toBe('EXTENSION_CANNOT_CREATE');
  });
});
