/** The bundle writer deploy uses for real: services/rehydration's writeBundle over this instance's catalog. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import { Catalog } from '../../catalog/index.js';
import { Appliance } from '../../core/metadata/index.js';
import { applianceAt } from '../rehydration/plan-overlay.js';
import { PluginInventoryService } from '../plugins/plugin-inventory-service.js';
import { AGENT_FILE } from '../rehydration/bundle-format.js';
import { writeBundle } from '../rehydration/bundle.js';
import { checkRecordedChains, type MadeAppliance } from '../rehydration/recorded-chain.js';
import type { BundleRequest, BundleWriter } from './bundle-port.js';

@injectable()
export class CatalogBundleWriter implements BundleWriter {
  constructor(
    @inject(Catalog) private readonly catalog: Catalog,
    @inject(PluginInventoryService) private readonly plugins: PluginInventoryService,
  ) {}

  async write(req: BundleRequest): Promise<{ agentFile: string }> {
    const source = await this.#source(req);
    const { dir } = await writeBundle({
      catalog: this.catalog,
      assembly: req.assembly,
      plan: req.plan,
      appliance: req.appliance,
      ...(source !== undefined ? { source } : {}),
      instanceIndex: req.instanceIndex,
      bindings: req.bindings,
      inventory: await this.plugins.get(),
      deployment: req.deployment,
      outDir: req.outDir,
      includeAgent: true,
      passwordKey: req.passwordKey,
    });
    return { agentFile: join(dir, AGENT_FILE) };
  }

  async checkChains(appliances: readonly MadeAppliance[], of: string): Promise<string[]> {
    return checkRecordedChains(await this.plugins.get(), appliances, of);
  }

  /**
   * The top-level appliance a member was copied from (addToAssembly --as). addToAssembly takes
   * the archives along but not the content resources, and records no source; until it does,
   * the one catalog appliance of the same creator holding every content resource the member
   * names is taken as the source. Undefined: the member's own content (or none) is used.
   */
  async #source(req: BundleRequest): Promise<string | undefined> {
    const member = applianceAt(req.assembly, req.appliance);
    const names = member.contentResources.map((r) => r.name);
    if (names.length === 0) return undefined;
    const own = `${req.assembly.name}/${req.appliance}`;
    if (existsSync(await this.catalog.contentPath(own, names[0] as string).catch(() => ''))) return undefined;
    if (req.appliance.split('/').length === 1 && (await this.catalog.hasAppliance(member.name))) return undefined;
    const candidates: string[] = [];
    for (const a of (await this.catalog.listAppliances()).items) {
      if (!(a instanceof Appliance) || a.creator !== member.creator) continue;
      const have = new Set(a.contentResources.map((r) => r.name));
      if (!names.every((n) => have.has(n))) continue;
      const paths = await Promise.all(names.map((n) => this.catalog.contentPath(a.name, n).catch(() => '')));
      if (paths.every((p) => p !== '' && existsSync(p))) candidates.push(a.name);
    }
    return candidates.length === 1 ? candidates[0] : undefined;
  }
}
