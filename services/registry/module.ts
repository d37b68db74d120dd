import 'reflect-metadata';
import { ContainerModule } from 'inversify';
import { PluginActivationService } from './activation.js';
import { ServiceRegistry } from './service-registry.js';

/*
 * Service identifiers: each class is its own identifier (same pattern as services/plugins/module.ts),
 * so `container.get(ServiceRegistry)` is typed without a cast. Both are singletons because the
 * registry holds the process's registrations and activation holds the started activators to stop.
 */
export { PluginActivationService, ServiceRegistry };
export { ActivationProblemCode } from './activation.js';
export type { ActivationOptions, ActivationResult, PluginActivationTiming, StopFailure } from './activation.js';
export type { RankedRegistration } from './service-registry.js';

/** The service registry and plugin activation (SPIF). */
export const registryModule = new ContainerModule(({ bind }) => {
  bind(ServiceRegistry).toSelf().inSingletonScope();
  bind(PluginActivationService).toSelf().inSingletonScope();
});
