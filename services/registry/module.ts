import 'reflect-metadata';
import { ContainerModule } from 'inversify';
import { PluginActivationService } from './activation.js';
import { ServiceRegistry } from './service-registry.js';

/*
 * Service identifiers: each class is its own identifier (same pattern as services/plugins/module.ts),
 * so `container.get(ServiceRegistry)` is typed without a cast. Both are singletons because the
 * registry holds the process's registrations and activation holds the started activators to stop.
 * Activation remembers hung plugins through `ActivationMemory` when some module binds it
 * (the plugins module does, over the instance's plugin state).
 */
export { PluginActivationService, ServiceRegistry };
export { ActivationProblemCode, DEFAULT_ACTIVATION_TIMEOUT_MS } from './activation.js';
export type { ActivationOptions, StopFailure } from './activation.js';
export { ActivationMemory } from './activation-memory.js';
export type { ActivationMemoryKey, RememberedFailure } from './activation-memory.js';

/** The service registry and plugin activation (SPIF). */
export const registryModule = new ContainerModule(({ bind }) => {
  bind(ServiceRegistry).toSelf().inSingletonScope();
  bind(PluginActivationService).toSelf().inSingletonScope();
});
