import type { PluginUsage } from '../plugins/plugin-usage.js';
import type { Catalog } from '../../catalog/catalog.js';

/**
 * The real "which appliances did this plugin make?" answer for plugin installation:
 * top-level appliances by name, appliances inside assemblies (atomic ones included) as
 * `assembly/appliance` paths.
 */
export class CatalogPluginUsage implements PluginUsage {
  constructor(private readonly catalog: Catalog) {}

  appliancesCreatedBy(pluginName: string): Promise<readonly string[]> {
    return this.catalog.appliancesCreatedBy(pluginName);
  }
}
