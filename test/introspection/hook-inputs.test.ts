/**
 * What the hooks are given and what is checked where it is made (issue 13 item 6): the capture
 * check sees the appliance it is about to capture, at introspection and at a later
 * captureFileSets; a fileRef naming no content resource fails the introspection as the
 * plugin's error with nothing stored. Real plugin directories, real files, a real instance.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PluginError } from '../../core/errors.js';
import type { Application } from '../../services/app.js';
import { Catalog } from '../../catalog/catalog.js';
import { CaptureJob } from '../../services/jobs/capture-job.js';
import { IntrospectJob } from '../../services/jobs/introspect-job.js';
import { catalogFingerprint, rejection, writeTestPlugin } from './helpers.js';
import { instanceEach } from '../support/each-test.js';

const t = instanceEach('abctl-hookinputs-', async (w) => {
  await mkdir(join(w.product, 'conf'), { recursive: true });
  await writeFile(join(t.product, 'conf', 'app.conf'), 'port=8080\n');
});

function start(): Promise<Application> {
  return t.open();
}

describe('the capture check receives the appliance', () => {
  /**
   * The check asserts on what it gets (refusing with the reason when something is off) and
   * appends what it saw to a file, so the test can tell both calls apart.
   */
  async function writeCheckedPlugin(seenFile: string): Promise<void> {
    await writeTestPlugin(t.bundled, {
      name: 'root',
      dehydrate: `ctx.createAppliance({ name: 'app', properties: [
          { name: 'port', type: 'int', category: 'user', value: '8080' },
          { name: 'admin.password', type: 'password', category: 'user', value: 's3cret' },
        ], fileSets: [{ name: 'home', root: ${JSON.stringify(t.product)} }] });`,
      start: `context.registerService(context.ids.PackagerValidationPlugin, { pluginName: 'root', async validateCapture({ applianceName, fileSetRoots, appliance, fileSet }) {
        if (appliance.name !== applianceName) return 'wrong appliance ' + appliance.name;
        if (appliance.property('port') !== '8080') return 'port is ' + appliance.property('port');
        if (appliance.property('admin.password') === 's3cret') return 'the password reached the check';
        const def = appliance.fileSets.find((f) => f.name === fileSet);
        if (!def || def.root !== fileSetRoots[0]) return 'file set ' + fileSet + ' is not ' + fileSetRoots[0];
        if (!Object.isFrozen(appliance) || !Object.isFrozen(appliance.properties[0]) || !Object.isFrozen(def.excludes)) return 'the view can be changed';
        await fs.appendFile(${JSON.stringify(seenFile)}, JSON.stringify({ name: appliance.name, creator: appliance.creator, fileSet, port: appliance.property('port') }) + '\\n');
        return undefined;
      } });`,
    });
  }

  it('at introspection and at a later captureFileSets, frozen, with passwords masked', async () => {
    const seen = join(t.path, 'seen.jsonl');
    await writeCheckedPlugin(seen);
    const a = await start();
    const introspect = a.get(IntrospectJob);
    const summary = await introspect.introspect(await introspect.prepare('root'), {});
    expect(summary.captured.map((c) => c.fileSet)).toEqual(['home']);

    const { captured } = await a.get(CaptureJob).capture('app');
    expect(captured.map((c) => c.fileSet)).toEqual(['home']);

    const lines = (await readFile(seen, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as unknown);
    const expected = { name: 'app', creator: 'root', fileSet: 'home', port: '8080' };
    expect(lines).toEqual([expected, expected]);
  });

  it('an old check that ignores the appliance still runs and may refuse', async () => {
    await writeTestPlugin(t.bundled, {
      name: 'root',
      dehydrate: `ctx.createAppliance({ name: 'app', fileSets: [{ name: 'home', root: ${JSON.stringify(t.product)} }] });`,
      start: `context.registerService(context.ids.PackagerValidationPlugin, { pluginName: 'root', validateCapture: ({ applianceName, fileSetRoots }) => fileSetRoots.length === 1 ? 'stop ' + applianceName + ' first' : undefined });`,
    });
    const introspect = (await start()).get(IntrospectJob);
    const err = await rejection(introspect.introspect(await introspect.prepare('root'), {}));
    expect(err.code).toBe('CAPTURE_REFUSED');
    expect(err.message).toContain('root refused the capture of app: stop app first');
  });
});

describe('fileRef values are checked at introspection', () => {
  const fileRef = (value: string): string => `{ name: 'conf', type: 'fileRef', category: 'user', value: ${JSON.stringify(value)} }`;

  it('fails as the plugin\'s error, naming appliance, property and URI, and stores nothing', async () => {
    await writeTestPlugin(t.bundled, {
      name: 'root',
      dehydrate: `const a = ctx.createAppliance({ name: 'app', properties: [${fileRef('contentresource:app.conf')}] });
        ctx.addContentResource(a, { name: 'other.conf', content: 'x' });`,
    });
    const introspect = (await start()).get(IntrospectJob);
    const before = catalogFingerprint(t.instance);
    const err = await rejection(introspect.introspect(await introspect.prepare('root'), {}));
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).plugin).toBe('root');
    expect(err.code).toBe('FILEREF_UNRESOLVED');
    expect(err.message).toBe('fileRef property "conf" is contentresource:app.conf, but appliance "app" has no content resource "app.conf"');
    expect(err.where).toBe('appliance "app" > property "conf"');
    expect(err.hint).toContain('other.conf');
    expect(catalogFingerprint(t.instance)).toEqual(before);
  });

  it('blames the extension that set the dangling value', async () => {
    await writeTestPlugin(t.bundled, { name: 'root' });
    await writeTestPlugin(t.bundled, {
      name: 'ext',
      parentName: 'root',
      dehydrate: `ctx.appliances[0].properties.add(${fileRef('contentresource:gone.xml')}, 'plugin');`,
    });
    const introspect = (await start()).get(IntrospectJob);
    const err = await rejection(introspect.introspect(await introspect.prepare('root'), {}));
    expect(err.code).toBe('FILEREF_UNRESOLVED');
    expect((err as PluginError).plugin).toBe('ext');
  });

  it('accepts a resource an extension adds after its parent named it, and keeps other schemes as given', async () => {
    await writeTestPlugin(t.bundled, {
      name: 'root',
      dehydrate: `ctx.createAppliance({ name: 'app', properties: [${fileRef('contentresource:app.conf')}, { name: 'remote', type: 'fileRef', category: 'user', value: 'https://example.invalid/app.conf' }] });`,
    });
    await writeTestPlugin(t.bundled, {
      name: 'ext',
      parentName: 'root',
      dehydrate: `ctx.addContentResource(ctx.appliances[0], { name: 'app.conf', content: 'port=8080' });`,
    });
    const a = await start();
    const introspect = a.get(IntrospectJob);
    await introspect.introspect(await introspect.prepare('root'), {});
    const stored = await a.get(Catalog).getAppliance('app');
    expect(stored.properties.getValue('conf')).toBe('contentresource:app.conf');
    expect(stored.properties.getValue('remote')).toBe('https://example.invalid/app.conf');
  });
});
