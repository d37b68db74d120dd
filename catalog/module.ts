import { ContainerModule } from 'inversify';
import { InstanceLayout } from '../services/instance.js';
import { PluginUsage } from '../services/plugins/plugin-usage.js';
import { Catalog } from './catalog.js';
import { CatalogPluginUsage } from './plugin-usage.js';

/**
 * The catalog store, one per container. Load it after pluginsModule: it replaces the
 * empty PluginUsage binding with the catalog-backed one. Catalog itself stays free of
 * inversify so scripts and benchmarks can import it cheaply.
 */
export const catalogModule = new ContainerModule(({ bind, isBound, rebind }) => {
  bind(Catalog)
    .toDynamicValue((ctx) => new Catalog(ctx.get<InstanceLayout>(InstanceLayout)))
    .inSingletonScope();
  const usage = isBound(PluginUsage) ? rebind<PluginUsage>(PluginUsage) : bind<PluginUsage>(PluginUsage);
  usage.toDynamicValue((ctx) => new CatalogPluginUsage(ctx.get(Catalog))).inSingletonScope();
});
