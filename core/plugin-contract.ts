/**
 * The plugin contract, version 1: what a plugin's entry module exports and what the
 * framework hands it. This file is public API (see docs/plugin-contract.md); change it
 * only compatibly, and bump SDK_VERSION when a plugin could tell the difference.
 */
import type { ServiceId, ServiceIdLike } from './service-ids.js';

/** Version of the plugin SDK this framework implements; `minSdkVersion` is checked against it. */
export const SDK_VERSION = '1.0';

// ---------------------------------------------------------------- service registry

/** Handle returned by `registerService`; `unregister()` a second time is an error. */
export interface ServiceRegistration<T = unknown> {
  readonly id: ServiceId<T>;
  readonly owner: string;
  readonly service: T;
  unregister(): void;
}

/** Looks services up when they are needed (not during `start`). */
export interface Collector {
  /** One service; throws a clear error naming the id when none is registered. Highest ranking wins, then the earliest. */
  getSingletonService<T>(id: ServiceIdLike<T>): T;
  /** Every registered service of this id, best ranking first; empty when none. */
  getServices<T>(id: ServiceIdLike<T>): T[];
}

export interface RegisterOptions {
  /** Higher ranking is preferred by `getSingletonService`; default 0. */
  ranking?: number;
}

/** Minimal logger handed to plugins; messages go to stderr, never include secrets. */
export interface PluginLogger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/** Who is being activated: taken from the plugin's `plugin.config`. */
export interface PluginIdentity {
  readonly name: string;
  readonly version: string;
  readonly directory: string;
  readonly parentName: string | undefined;
}

/** Passed to every activator's `start` and `stop`. */
export interface ServiceContext {
  readonly plugin: PluginIdentity;
  /** Framework service ids, for plugins that do not import this package. */
  readonly ids: Readonly<Record<string, ServiceId<unknown>>>;
  readonly log: PluginLogger;
  registerService<T>(id: ServiceIdLike<T>, service: T, options?: RegisterOptions): ServiceRegistration<T>;
  createCollector(): Collector;
}

/**
 * A plugin's entry module exports one or more activators (default and/or named exports):
 * an object with `start`, or a class whose instances have `start` (constructed with no
 * arguments). All activators of all enabled plugins start before any command runs.
 */
export interface ServiceActivator {
  start(context: ServiceContext): void | Promise<void>;
  stop?(context: ServiceContext): void | Promise<void>;
}

// ---------------------------------------------------------------- introspection contracts

export type JobParameterType = 'string' | 'integer' | 'boolean' | 'path' | 'password';

export interface JobParameterDefinition {
  /** Option name on the command line (`--<name>`); letters, digits and '-'. */
  readonly name: string;
  readonly type: JobParameterType;
  readonly description: string;
  readonly required?: boolean;
  readonly defaultValue?: string | number | boolean;
}

/** Values supplied for a job's parameters, keyed by parameter name. */
export type JobParameterValues = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * The service every plugin registers under `IntrospectorPlugin`. Dehydration and
 * rehydration hooks are described with the introspection contract.
 */
export interface IntrospectorPlugin {
  /** Must equal the `name` in plugin.config. */
  readonly name: string;
  /** Parameters of `abctl introspect<name>`. */
  jobParameters?(): readonly JobParameterDefinition[];
  /** Whether extensions below this plugin may create appliances or assemblies; default false. */
  readonly allowExtensionsToCreateAppliances?: boolean;
}

/** Registered under `IntrospectorPluginExtension`; runs after its parent in every operation. */
export interface IntrospectorPluginExtension extends IntrospectorPlugin {
  /** Must equal `parentName` in plugin.config. */
  readonly parentName: string;
  /** When true, `abctl introspect<name>` exists and runs the root plugin with its whole chain. */
  readonly alias?: boolean;
}

/** Names the product home(s) a job's parameters point at, for the upgrade check. */
export interface IntrospectorPluginLocator {
  readonly pluginOrExtensionName: string;
  productInstallHomes(parameters: JobParameterValues): readonly string[] | Promise<readonly string[]>;
}

export interface ValidationMessage {
  readonly severity: 'warning' | 'rejection';
  readonly message: string;
}

/** Runs before file set capture; returning a message aborts the capture with it. */
export interface PackagerValidationPlugin {
  readonly pluginName: string;
  validateCapture(request: { readonly applianceName: string; readonly fileSetRoots: readonly string[] }):
    | string
    | undefined
    | Promise<string | undefined>;
}

/** Checks an introspected appliance's platform/OS facts; warnings are shown unless something is rejected. */
export interface PlatformOsValidationPlugin {
  readonly pluginName: string;
  validatePlatform(facts: { readonly os: string; readonly arch: string; readonly osRelease?: string }):
    | readonly ValidationMessage[]
    | Promise<readonly ValidationMessage[]>;
}

/** What a base image must provide for the plugin's product. */
export interface BaseImageRequirement {
  readonly kind: 'user' | 'group' | 'package' | 'kernelParameter' | 'swap';
  readonly name: string;
  /** Minimum value for kernel parameters or swap (MiB). */
  readonly minimum?: number;
  readonly message: string;
  readonly severity: 'warning' | 'rejection';
}

export interface BaseImageValidationPlugin {
  readonly pluginName: string;
  baseImageRequirements(): readonly BaseImageRequirement[];
}

/** Shared helpers the framework registers for plugins (SSH, templates, commands). */
export interface UtilFactory {
  /** Versions of the framework and SDK, so a plugin can adapt. */
  readonly sdkVersion: string;
}
