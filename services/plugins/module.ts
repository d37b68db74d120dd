import { ContainerModule } from 'inversify';
import { PluginInstaller } from './installation.js';
import { PluginInventoryService } from './plugin-inventory-service.js';
import { EmptyPluginUsage, PluginUsage } from './plugin-usage.js';

/** Plugin discovery, installation and the usage check; the catalog module rebinds PluginUsage. */
export const pluginsModule = new ContainerModule(({ bind }) => {
  bind(PluginInventoryService).toSelf().inSingletonScope();
  bind(PluginInstaller).toSelf().inSingletonScope();
  bind<PluginUsage>(PluginUsage).to(EmptyPluginUsage).inSingletonScope();
});
