import type {
  BaseImageValidationPlugin,
  IntrospectorPlugin,
  IntrospectorPluginExtension,
  IntrospectorPluginLocator,
  PackagerValidationPlugin,
  PlatformOsValidationPlugin,
  UtilFactory,
} from './plugin-contract.js';

/**
 * A typed key for the service registry. The key is a *global* symbol (`Symbol.for`),
 * so a plain-JavaScript plugin that never imports this module still reaches the same
 * service with `serviceId('IntrospectorPlugin')` or with the name string alone.
 */
export interface ServiceId<T> {
  readonly key: symbol;
  readonly name: string;
  /** Phantom field that carries T for the type checker; never set. */
  readonly __service?: T;
}

export function serviceId<T>(name: string): ServiceId<T> {
  if (!/^[A-Za-z][\w.-]*$/.test(name)) {
    throw new TypeError(`invalid service id "${name}": use letters, digits, '_', '-' or '.', starting with a letter`);
  }
  return Object.freeze({ key: Symbol.for(`abctl.service:${name}`), name });
}

/** Accepts a typed id or its bare name (what plain-JS plugins pass). */
export type ServiceIdLike<T> = ServiceId<T> | string;

export function toServiceId<T>(id: ServiceIdLike<T>): ServiceId<T> {
  return typeof id === 'string' ? serviceId<T>(id) : id;
}

/** Service ids of the framework's contracts: the plugin contract's public surface. */
export const ServiceIds = Object.freeze({
  IntrospectorPlugin: serviceId<IntrospectorPlugin>('IntrospectorPlugin'),
  IntrospectorPluginExtension: serviceId<IntrospectorPluginExtension>('IntrospectorPluginExtension'),
  IntrospectorPluginLocator: serviceId<IntrospectorPluginLocator>('IntrospectorPluginLocator'),
  PackagerValidationPlugin: serviceId<PackagerValidationPlugin>('PackagerValidationPlugin'),
  PlatformOsValidationPlugin: serviceId<PlatformOsValidationPlugin>('PlatformOsValidationPlugin'),
  BaseImageValidationPlugin: serviceId<BaseImageValidationPlugin>('BaseImageValidationPlugin'),
  UtilFactory: serviceId<UtilFactory>('UtilFactory'),
});

export type FrameworkServiceName = keyof typeof ServiceIds;

/**
 * Where each framework contract restates its owner (SDK 1.0 services name their plugin in a
 * field). The registry records the real owner; these fields are only checked against it.
 */
export const DECLARED_OWNER_FIELD: Readonly<Partial<Record<FrameworkServiceName, string>>> = Object.freeze({
  IntrospectorPlugin: 'name',
  IntrospectorPluginExtension: 'name',
  IntrospectorPluginLocator: 'pluginOrExtensionName',
  PackagerValidationPlugin: 'pluginName',
  PlatformOsValidationPlugin: 'pluginName',
  BaseImageValidationPlugin: 'pluginName',
});

/** Who registers a service: the plugin's name and, for an extension, its parent's. */
export interface ServiceOwner {
  readonly name: string;
  readonly parentName: string | undefined;
}

/**
 * Why `service`, registered under `id` by `owner`, contradicts its owner (a name field naming
 * another plugin, an extension naming another parent), or undefined when it does not. An
 * absent field is no contradiction: the owner is known without it.
 */
export function declaredOwnerConflict(id: ServiceId<unknown>, service: unknown, owner: ServiceOwner): string | undefined {
  if (service === null || typeof service !== 'object') return undefined;
  const fields = service as Readonly<Record<string, unknown>>;
  const field = (DECLARED_OWNER_FIELD as Readonly<Record<string, string>>)[id.name];
  if (field !== undefined && fields[field] !== undefined && fields[field] !== owner.name) {
    return `its ${field} is ${JSON.stringify(fields[field])}, but the service is registered by "${owner.name}"`;
  }
  if (id.name === 'IntrospectorPluginExtension' && fields.parentName !== undefined && fields.parentName !== owner.parentName) {
    const actual = owner.parentName === undefined ? 'has no parentName' : `has parentName "${owner.parentName}"`;
    return `its parentName is ${JSON.stringify(fields.parentName)}, but the plugin.config of "${owner.name}" ${actual}`;
  }
  return undefined;
}
