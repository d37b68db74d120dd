import { ContainerModule } from 'inversify';
import { ActivationMemory } from '../registry/activation-memory.js';
import { ActivationFailureStore } from './activation-failures.js';
import { PluginInstaller } from './installation.js';
import { PluginInventoryService } from './plugin-inventory-service.js';
import { EmptyPluginUsage, PluginUsage } from './plugin-usage.js';

/**
 * Plugin discovery, installation, the usage check and the record of hung plugins (which
 * activation reads as its ActivationMemory); the catalog module rebinds PluginUsage.
 */
export const pluginsModule = new ContainerModule(({ bind }) => {
  bind(PluginInventoryService).toSelf().inSingletonScope();
  bind(PluginInstaller).toSelf().inSingletonScope();
  bind(ActivationFailureStore).toSelf().inSingletonScope();
  bind<ActivationMemory>(ActivationMemory).toService(ActivationFailureStore);
  bind<PluginUsage>(PluginUsage).to(EmptyPluginUsage).inSingletonScope();
});
