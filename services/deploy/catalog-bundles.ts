/** The bundle writer deploy uses for real: services/rehydration's writeBundle over this instance's catalog. */
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import { Catalog } from '../../catalog/index.js';
import { PluginInventoryService } from '../plugins/plugin-inventory-service.js';
import { AGENT_FILE } from '../rehydration/bundle-format.js';
import { writeBundle } from '../rehydration/bundle.js';
import type { BundleRequest, BundleWriter } from './bundle-port.js';

@injectable()
export class CatalogBundleWriter implements BundleWriter {
  constructor(
    @inject(Catalog) private readonly catalog: Catalog,
    @inject(PluginInventoryService) private readonly plugins: PluginInventoryService,
  ) {}

  async write(req: BundleRequest): Promise<{ agentFile: string }> {
    const { dir } = await writeBundle({
      catalog: this.catalog,
      assembly: req.assembly,
      plan: req.plan,
      appliance: req.appliance,
      instanceIndex: req.instanceIndex,
      bindings: req.bindings,
      inventory: await this.plugins.get(),
      deployment: req.deployment,
      outDir: req.outDir,
      includeAgent: true,
    });
    return { agentFile: join(dir, AGENT_FILE) };
  }
}
