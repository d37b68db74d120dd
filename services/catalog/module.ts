import { ContainerModule } from 'inversify';
import { Catalog } from '../../catalog/catalog.js';
import { InstanceLayout } from '../instance.js';
import { PluginUsage } from '../plugins/plugin-usage.js';
import { CatalogPluginUsage } from './plugin-usage.js';

/**
 * The catalog store, one per container. Load it after pluginsModule: it replaces the
 * empty PluginUsage binding with the catalog-backed one. The binding lives here, not in
 * catalog/, so the store imports nothing from services/ and stays free of inversify
 * (scripts and benchmarks import it cheaply).
 */
export const catalogModule = new ContainerModule(({ bind, isBound, rebind }) => {
  bind(Catalog)
    .toDynamicValue((ctx) => new Catalog(ctx.get<InstanceLayout>(InstanceLayout)))
    .inSingletonScope();
  const usage = isBound(PluginUsage) ? rebind<PluginUsage>(PluginUsage) : bind<PluginUsage>(PluginUsage);
  usage.toDynamicValue((ctx) => new CatalogPluginUsage(ctx.get(Catalog))).inSingletonScope();
});
