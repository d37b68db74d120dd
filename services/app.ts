import { Application as PluginsApplication, type ApplicationOptions } from './application.js';
import { catalogModule } from './catalog/module.js';
import { deployModule, kubernetesTargetModule, localTargetModule, podmanTargetModule, sshTargetModule } from './deploy/module.js';
import { editingModule } from './editing/module.js';
import { hostModule } from './host/module.js';
import { jobsModule } from './jobs/module.js';
import { pluginsModule } from './plugins/module.js';
import { registryModule } from './registry/module.js';
import { utilsModule } from './utils/module.js';
import { validationModule } from './validation/module.js';

export type { ApplicationOptions } from './application.js';

/**
 * The application with every area. The class itself lives in services/application.ts, which
 * imports only the plugin areas: listing plugins loads that file alone (see Application.forPlugins).
 */
export class Application extends PluginsApplication {
  static create(options: ApplicationOptions): Application {
    // catalogModule after pluginsModule: it replaces the catalog-less PluginUsage.
    return PluginsApplication.compose(options, [registryModule, utilsModule, pluginsModule, catalogModule, hostModule, jobsModule, editingModule, deployModule, localTargetModule, sshTargetModule, podmanTargetModule, kubernetesTargetModule, validationModule]);
  }
}
