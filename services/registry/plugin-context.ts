import { PluginError } from '../../core/errors.js';
import type {
  FrameworkServices,
  PluginIdentity,
  PluginLogger,
  PluginMessages,
  RegisterOptions,
  ServiceCollector,
  ServiceContext,
  ServiceRegistration,
} from '../../core/plugin-contract.js';
import { declaredOwnerConflict, ServiceIds, toServiceId, type ServiceIdLike } from '../../core/service-ids.js';
import type { ServiceRegistry } from './service-registry.js';

/** The `context` one plugin's activators receive: registrations are made in its name. */
export class PluginServiceContext implements ServiceContext {
  readonly ids = ServiceIds;
  /** Closed once the plugin is broken or stopped: late registrations would leak past unregisterAll. */
  open = true;

  constructor(
    readonly plugin: PluginIdentity,
    readonly log: PluginLogger,
    private readonly registry: ServiceRegistry,
    readonly messages: PluginMessages,
  ) {}

  // Arrow properties so plain-JS plugins may destructure the context without losing `this`.
  registerService = <T>(id: ServiceIdLike<T>, service: T, options?: RegisterOptions): ServiceRegistration<T> => {
    const name = this.plugin.name;
    if (!this.open) {
      throw new PluginError(name, 'PLUGIN_NOT_ACTIVE', `plugin "${name}" tried to register a service after it failed or stopped`, {
        where: this.plugin.directory,
      });
    }
    const sid = toServiceId(id);
    // The registry knows the owner; a service naming someone else would be matched to the wrong plugin by older callers.
    const conflict = declaredOwnerConflict(sid, service, this.plugin);
    if (conflict !== undefined) {
      throw new PluginError(name, 'SERVICE_OWNER_MISMATCH', `plugin "${name}" registered a "${sid.name}" service that names another owner: ${conflict}`, {
        where: this.plugin.directory,
        hint: `a service belongs to the plugin that registers it: correct the field, or register the service from the activator of the plugin it names`,
      });
    }
    return this.registry.register(name, sid, service, options);
  };

  registerServices = (services: FrameworkServices, options?: RegisterOptions): ServiceRegistration[] => {
    if (typeof services !== 'object' || services === null || Array.isArray(services)) {
      throw new PluginError(this.plugin.name, 'PLUGIN_SERVICES_INVALID', `plugin "${this.plugin.name}" passed registerServices ${Array.isArray(services) ? 'an array' : String(services)}, not an object of services by id name`, {
        where: this.plugin.directory,
        hint: 'e.g. context.registerServices({ IntrospectorPlugin: plugin, IntrospectorPluginLocator: locator })',
      });
    }
    return Object.entries(services)
      .filter(([, service]) => service !== undefined)
      .map(([name, service]) => this.registerService(name, service, options));
  };

  createCollector = (): ServiceCollector => this.registry.createCollector();
}

/** Plugin log lines, prefixed with the plugin name; debug lines only when asked for. */
export function pluginLogger(name: string, sink: (line: string) => void, debug: boolean): PluginLogger {
  return {
    info: (message) => sink(`${name}: ${message}`),
    warn: (message) => sink(`${name}: warning: ${message}`),
    debug: debug ? (message) => sink(`${name}: debug: ${message}`) : () => undefined,
  };
}
