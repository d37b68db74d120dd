/**
 * The example appliance as an image: examples/minihttpd introspected and captured by the example
 * plugin (test/deploy/example-fixture.ts), its file set moved to /opt/minihttpd, member `web` of
 * assembly `site`, written by createTemplate over a small root file system made from this
 * machine's files (test/support/podman.mjs testRootfs: seconds, offline).
 */
import { join } from 'node:path';
import { Catalog } from '../../catalog/index.js';
import { createTemplates, type WrittenImage } from '../../services/image/image-writer.js';
import type { PluginInventory } from '../../core/plugin-model.js';
import { exampleSite, type ExampleSite } from '../deploy/example-fixture.js';
import { testRootfs } from '../support/podman.mjs';

export const IMAGE_HOME = '/opt/minihttpd';

export interface ExampleImage {
  readonly site: ExampleSite;
  readonly catalog: Catalog;
  readonly inventory: PluginInventory;
  readonly base: string;
  readonly image: WrittenImage;
  /** Writes the same image again into another directory. */
  write(outDir: string, opts?: { archive?: string; base?: string; node?: string }): Promise<WrittenImage>;
}

export async function exampleImage(tmp: string): Promise<ExampleImage> {
  const site = await exampleSite(tmp, IMAGE_HOME, { web: { port: 18080, serverName: 'web', target: 'local' } });
  const catalog = site.app.get(Catalog);
  const inventory = await site.app.inventory();
  const base = testRootfs();
  const write = async (outDir: string, opts: { archive?: string; base?: string; node?: string } = {}): Promise<WrittenImage> => {
    const [img] = await createTemplates({ catalog, inventory, appliance: 'web', assembly: 'site', base: opts.base ?? base, outDir, ...(opts.archive ? { archive: opts.archive } : {}), ...(opts.node ? { node: opts.node } : {}) });
    return img as WrittenImage;
  };
  const image = await write(join(tmp, 'images'), { archive: join(tmp, 'web.tar') });
  return { site, catalog, inventory, base, image, write };
}
