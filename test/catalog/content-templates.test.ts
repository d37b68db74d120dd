/**
 * The template marker of content resources in the catalog: written as `template="true"` on
 * templates only, read back, and a catalog written before the marker existed (no attribute)
 * loads with every content resource as a non-template.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Appliance } from '../../core/metadata/appliance.js';
import { tempDir } from '../helpers/plugins.js';
import { openCatalog } from './helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  tmp = await tempDir('abctl-content-templates-');
});
afterEach(() => tmp.cleanup());

function app(): Appliance {
  return new Appliance({
    name: 'app',
    creator: 'example',
    properties: [{ name: 'port', type: 'int', category: 'user', value: '80' }],
    contentResources: [
      { name: 'app.conf', path: 'app.conf', template: true },
      { name: 'logo.png', path: 'logo.png' },
    ],
  });
}

describe('content resource template marker', () => {
  it('is written on templates only and read back', async () => {
    await openCatalog(tmp.path).commit({ put: [app()], content: [{ owner: 'app', resource: 'app.conf', data: 'port={{port}}' }, { owner: 'app', resource: 'logo.png', data: new Uint8Array([1]) }] });
    const xml = await readFile(join(tmp.path, 'catalog', 'appliances', 'app', 'appliance.xml'), 'utf8');
    expect(xml).toContain('<contentResource name="app.conf" path="app.conf" description="" template="true"/>');
    expect(xml).toContain('<contentResource name="logo.png" path="logo.png" description=""/>');
    const back = await openCatalog(tmp.path).getAppliance('app');
    expect(back.contentResources.map((c) => [c.name, c.template])).toEqual([
      ['app.conf', true],
      ['logo.png', false],
    ]);
  });

  it('an older catalog without the marker loads, with no content resource taken for a template', async () => {
    await openCatalog(tmp.path).commit({ put: [app()], content: [{ owner: 'app', resource: 'app.conf', data: 'port={{port}}' }, { owner: 'app', resource: 'logo.png', data: new Uint8Array([1]) }] });
    const file = join(tmp.path, 'catalog', 'appliances', 'app', 'appliance.xml');
    // What abctl wrote before SDK 1.2: the same element without the attribute.
    const old = (await readFile(file, 'utf8')).replace(' template="true"', '');
    expect(old).not.toContain('template=');
    await writeFile(file, old);
    const back = await openCatalog(tmp.path).getAppliance('app');
    expect(back.contentResources.map((c) => [c.name, c.template])).toEqual([
      ['app.conf', false],
      ['logo.png', false],
    ]);
    // A value that is not a boolean is refused with the field named, not taken for false.
    await writeFile(file, old.replace('name="app.conf" path="app.conf"', 'name="app.conf" path="app.conf" template="yes"'));
    await expect(openCatalog(tmp.path).getAppliance('app')).rejects.toThrow(/template/);
  });
});
