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
