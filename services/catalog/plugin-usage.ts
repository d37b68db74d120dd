import type { PluginUsage, PluginUseReport } from '../plugins/plugin-usage.js';
import type { Catalog } from '../../catalog/catalog.js';

/**
 * The real "which appliances were made with these plugins?" answer for plugin installation:
 * top-level appliances by name, appliances inside assemblies (atomic ones included) as
 * `assembly/appliance` paths, and the documents that could not be read.
 */
export class CatalogPluginUsage implements PluginUsage {
  constructor(private readonly catalog: Catalog) {}

  appliancesMadeWith(plugins: readonly string[], options: { readonly lockHeld?: boolean } = {}): Promise<PluginUseReport> {
    return this.catalog.appliancesMadeWith(plugins, options);
  }
}
