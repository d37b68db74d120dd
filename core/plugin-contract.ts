/**
 * The plugin contract, version 1: what a plugin's entry module exports and what the
 * framework hands it. This file is public API (see docs/plugin-contract.md); change it
 * only compatibly, and bump SDK_VERSION when a plugin could tell the difference.
 */
import type { Appliance, ApplianceInit, AtomicAssembly, ContentResource, FileSetDefinitionPlain, PropertyPlain } from './metadata/index.js';
import type { ReferenceHost } from './reference-host.js';
import type { FrameworkServiceName, ServiceId, ServiceIdLike, ServiceIds } from './service-ids.js';

export type { HostProcess, ReferenceHost } from './reference-host.js';
export type { LifecycleContext, LifecycleHooks, PingResult } from './lifecycle-contract.js';
import type { LifecycleHooks } from './lifecycle-contract.js';
// The utilities (SDK 1.4) have their own file: core/util-contract.ts.
export type * from './util-contract.js';
import type { UtilFactory } from './util-contract.js';

/** Version of the plugin SDK this framework implements; `minSdkVersion` is checked against it. */
export const SDK_VERSION = '1.6';

// ---------------------------------------------------------------- service registry

/** Handle returned by `registerService`; `unregister()` a second time is an error. */
export interface ServiceRegistration<T = unknown> {
  readonly id: ServiceId<T>;
  readonly owner: string;
  readonly service: T;
  unregister(): void;
}

/** A service together with the plugin (or extension) that registered it. */
export interface OwnedService<T> {
  /** Name of the plugin whose activator registered the service: the registry's record, not the service's claim. */
  readonly owner: string;
  readonly service: T;
}

/** Looks services up when they are needed (not during `start`). */
export interface ServiceCollector {
  /** One service; throws a clear error naming the id when none is registered. Highest ranking wins, then the earliest. */
  getSingletonService<T>(id: ServiceIdLike<T>): T;
  /** Every registered service of this id, best ranking first; empty when none. */
  getServices<T>(id: ServiceIdLike<T>): T[];
  /** Like `getServices`, each with the plugin that registered it. Since SDK 1.1. */
  getServicesWithOwner<T>(id: ServiceIdLike<T>): OwnedService<T>[];
}

/** The SDK 1.0 name of `ServiceCollector`, kept so existing plugins' types still compile. */
export type Collector = ServiceCollector;

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

// ---------------------------------------------------------------- messages (SDK 1.4)

/** What a message's `{n}` may be filled with; shown as `String(value)`. */
export type MessageArgument = string | number | boolean | bigint;

export interface MessageErrorOptions {
  /** What to do about it: a message id of the plugin (formatted with the same arguments) or plain text. */
  readonly hint?: string;
  /** The code scripts see in `--json`; default: the message id. */
  readonly code?: string;
  /** Where it happened: a file, `file:line`, an object name. */
  readonly where?: string;
}

/**
 * The plugin's own texts, from `messages/<locale>.properties` in its directory, in the user's
 * locale (docs/plugin-contract.md, "Messages"). Files are read the first time a text is needed.
 */
export interface PluginMessages {
  /** The user's locale (`fr_CA`, `en`): the first of LC_ALL, LC_MESSAGES, LANG that is set; `C` and `POSIX` are `en`. */
  readonly locale: string;
  /** Whether a file of the lookup chain (e.g. fr_CA, fr, en) has this id. */
  has(id: string): boolean;
  /**
   * The id's text from the first file of the chain that has it, `{0}`, `{1}`... replaced by the
   * arguments; the id with its arguments (`conf_missing("/etc/x")`) when no file has it.
   */
  format(id: string, ...args: readonly MessageArgument[]): string;
  /**
   * A coded user error to throw: its message is `format(id, ...args)`, its code `options.code`
   * or the id; abctl shows it as `error in plugin <name>: <text>` and the hint on its own line.
   */
  error(id: string, args?: readonly MessageArgument[], options?: MessageErrorOptions): Error;
}

/** Every context abctl hands to plugin code carries the plugin's messages (SDK 1.4). */
export interface WithMessages {
  readonly messages: PluginMessages;
}

/** Who is being activated: taken from the plugin's `plugin.config`. */
export interface PluginIdentity {
  readonly name: string;
  readonly version: string;
  readonly directory: string;
  readonly parentName: string | undefined;
}

/**
 * The framework's services a plugin may register, keyed by their id's name, each typed with its
 * contract: what `registerServices` takes (SDK 1.5).
 */
export type FrameworkServices = {
  readonly [K in Exclude<FrameworkServiceName, 'UtilFactory'>]?: (typeof ServiceIds)[K] extends ServiceId<infer T> ? T : never;
};

/** Passed to every activator's `start` and `stop`. */
export interface ServiceContext extends WithMessages {
  readonly plugin: PluginIdentity;
  /** Framework service ids, typed, for plugins that do not import this package. */
  readonly ids: typeof ServiceIds;
  readonly log: PluginLogger;
  registerService<T>(id: ServiceIdLike<T>, service: T, options?: RegisterOptions): ServiceRegistration<T>;
  /**
   * Registers several services at once, one per key (the id's name), in the order written, with
   * the same options; returns their registrations in that order (SDK 1.5). abctl withdraws every
   * registration of a plugin once its activators have stopped, so an activator that only
   * registers services needs no `stop`.
   */
  registerServices(services: FrameworkServices, options?: RegisterOptions): ServiceRegistration[];
  createCollector(): ServiceCollector;
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
 * Progress of long work: `percent` 0-100, or -1 for "working, share unknown". The CLI
 * shows it beside the framework's own progress (a bar on a terminal, nothing when piped).
 */
export type ProgressReporter = (percent: number, message?: string) => void;

/** A content resource's bytes, handed to the framework at dehydration; stored in the catalog. */
export interface ContentResourceData {
  /** Letters, digits and `- . _ ~`; unique per appliance. */
  readonly name: string;
  readonly content: string | Uint8Array;
  readonly description?: string;
  /** Also expose it as a user fileRef property of this name (`contentresource:<name>`). */
  readonly exposeAs?: string;
  /**
   * A config template (SDK 1.2; default false): it must parse, and every variable must be a
   * property of the appliance or a late-binding variable, or the introspection fails as this
   * plugin's error. Plan validation then reports variables a plan leaves without a value.
   */
  readonly template?: boolean;
  /**
   * Where rehydrate renders this template (absolute; the same path as on the reference). A
   * template that names a password property keeps that file out of the capture: it would carry
   * the reference's password, and rehydrate writes it whole anyway.
   */
  readonly renders?: string;
}

/**
 * What `dehydrate` receives. One context per participant (the plugin, then each extension
 * after its parent); all of them see the same result being built.
 */
export interface DehydrateContext extends WithMessages {
  /** The plugin or extension this context belongs to. */
  readonly pluginName: string;
  /** Values of every job parameter of the plugin and its extensions. */
  readonly parameters: JobParameterValues;
  /** Read-only access to the reference host (this machine or SSH). */
  readonly host: ReferenceHost;
  /** A directory on the abctl machine for scratch files; removed after the introspection. */
  readonly tmpDir: string;
  readonly log: PluginLogger;
  readonly progress: ProgressReporter;
  /** Appliances created so far (by the plugin, and by extensions that were allowed to). */
  readonly appliances: readonly Appliance[];
  /** The atomic assembly, when the plugin created one. */
  readonly atomicAssembly: AtomicAssembly | undefined;
  /**
   * Creates the introspection's appliance. The framework sets `creator` (the root plugin)
   * and `participants` (the chain that ran, with versions) and defaults `type` to the creator; a default interface is added when none is given. Edit it with
   * its methods, passing the actor `'plugin'`. Extensions may call this only when the root
   * plugin sets `allowExtensionsToCreateAppliances`, and then only inside an atomic assembly.
   */
  createAppliance(init: Omit<ApplianceInit, 'creator' | 'participants'>): Appliance;
  /** Creates an atomic assembly; add its appliances with `createAppliance` (siblings share the first's file sets). */
  createAtomicAssembly(init: { readonly name: string; readonly description?: string }): AtomicAssembly;
  /** Saves bytes as a content resource of an appliance created in this introspection. */
  addContentResource(appliance: Appliance | string, resource: ContentResourceData): ContentResource;
  /** Shared helpers (SDK 1.4): commands on the reference host, SSH, content builder, temp files, cache, implementations. */
  readonly utils: UtilFactory;
}

/**
 * The service every plugin registers under `IntrospectorPlugin`. Since SDK 1.1 it may also
 * implement rehydrate/start/stop/ping (core/lifecycle-contract.ts, docs/rehydration.md).
 */
export interface IntrospectorPlugin extends LifecycleHooks {
  /** The registering plugin's `name` from plugin.config (checked at registration: the registry knows the owner). */
  readonly name: string;
  /** Parameters of `abctl introspect<name>` (extensions add theirs). */
  jobParameters?(): readonly JobParameterDefinition[];
  /**
   * Reads the product through `context.host` and describes it. Must not change the
   * reference host. Extensions run after their parent and may find nothing to do.
   */
  dehydrate?(context: DehydrateContext): void | Promise<void>;
  /** Whether extensions below this plugin may create appliances or assemblies; default false. */
  readonly allowExtensionsToCreateAppliances?: boolean;
  /**
   * Optional discovery hook: the installations of the product on a host, each with the job
   * parameter values that introspect it (`abctl discover`).
   */
  discover?(context: DiscoverContext): readonly DiscoveredInstallation[] | Promise<readonly DiscoveredInstallation[]>;
}

export interface DiscoverContext extends WithMessages {
  readonly host: ReferenceHost;
  readonly log: PluginLogger;
  readonly progress: ProgressReporter;
}

export interface DiscoveredInstallation {
  /** Short human description, e.g. "minihttpd 0.3 in /opt/minihttpd". */
  readonly description: string;
  readonly parameters: JobParameterValues;
}

/** Registered under `IntrospectorPluginExtension`; runs after its parent in every operation. */
export interface IntrospectorPluginExtension extends IntrospectorPlugin {
  /** The registering extension's `parentName` from plugin.config (checked at registration). */
  readonly parentName: string;
  /** When true, `abctl introspect<name>` exists and runs the root plugin with its whole chain. */
  readonly alias?: boolean;
}

/** Names the product home(s) a job's parameters point at, for the upgrade check. */
export interface IntrospectorPluginLocator {
  /** The registering plugin's name (checked at registration: the registry knows the owner). */
  readonly pluginOrExtensionName: string;
  productInstallHomes(parameters: JobParameterValues): readonly string[] | Promise<readonly string[]>;
}

export interface ValidationMessage {
  readonly severity: 'warning' | 'rejection';
  readonly message: string;
}

/**
 * A frozen snapshot of the appliance a capture check is about to capture (SDK 1.3): the same
 * whether the capture follows the dehydration or is a later `captureFileSets`. Password values
 * are masked: a capture check has no reason to hold one.
 */
export interface CaptureApplianceView {
  readonly name: string;
  readonly type: string;
  /** The plugin that created it. */
  readonly creator: string;
  readonly properties: readonly Readonly<PropertyPlain>[];
  readonly fileSets: readonly Readonly<FileSetDefinitionPlain>[];
  /** Names of its content resources. */
  readonly contentResources: readonly string[];
  /** A property's value (masked for passwords), undefined when it has none or does not exist. */
  property(name: string): string | undefined;
}

/** Runs before file set capture; returning a message aborts the capture with it. */
export interface PackagerValidationPlugin {
  /** The registering plugin's name (checked at registration: the registry knows the owner). */
  readonly pluginName: string;
  validateCapture(request: {
    readonly applianceName: string;
    /** The root of the file set about to be captured (one per call). */
    readonly fileSetRoots: readonly string[];
    /** The reference host the files are captured from (read-only, like during dehydration). */
    readonly host: ReferenceHost;
    /** The appliance being captured (SDK 1.3; older abctl versions leave it out). */
    readonly appliance: CaptureApplianceView;
    /** The name of the file set about to be captured (SDK 1.3). */
    readonly fileSet: string;
  }): string | undefined | Promise<string | undefined>;
}

/** Checks an introspected appliance's platform/OS facts; warnings are shown unless something is rejected. */
export interface PlatformOsValidationPlugin {
  /** The registering plugin's name (checked at registration: the registry knows the owner). */
  readonly pluginName: string;
  validatePlatform(facts: { readonly os: string; readonly arch: string; readonly osRelease?: string }):
    | readonly ValidationMessage[]
    | Promise<readonly ValidationMessage[]>;
}

/** How much an unmet requirement matters: a rejection refuses the base or host, a warning is shown. */
export type RequirementSeverity = 'rejection' | 'warning';

interface RequirementCommon {
  /** Default `rejection`. */
  readonly severity?: RequirementSeverity;
  /** Why the product needs it; shown beside the problem. */
  readonly message?: string;
}

/** A user account (`/etc/passwd`, or `getent passwd` on a host). */
export interface UserRequirement extends RequirementCommon {
  readonly kind: 'user';
  readonly name: string;
}

/** A group (`/etc/group`, or `getent group` on a host). */
export interface GroupRequirement extends RequirementCommon {
  readonly kind: 'group';
  readonly name: string;
}

/** An installed Debian package, optionally at least `minVersion` (compared as dpkg does: `1.10` > `1.9`, `2.0~rc1` < `2.0`). */
export interface PackageRequirement extends RequirementCommon {
  readonly kind: 'package';
  readonly name: string;
  readonly minVersion?: string;
}

/**
 * A kernel parameter by its sysctl name (`net.core.somaxconn`): at least `minimum` (the first
 * number of the value), or exactly `expected` (white space runs count as one space). A host
 * property: a container uses its node's kernel, so images cannot be checked (see docs/requirements.md).
 */
export interface KernelParameterRequirement extends RequirementCommon {
  readonly kind: 'kernelParameter';
  readonly name: string;
  readonly minimum?: number;
  readonly expected?: string;
}

/** At least `minimum` MiB of swap; a host property like kernel parameters. */
export interface SwapRequirement extends RequirementCommon {
  readonly kind: 'swap';
  readonly minimum: number;
  /** Ignored; SDK 1.1 declared a name for every requirement. */
  readonly name?: string;
}

/** What a base image (or a host deployed to directly) must provide for the plugin's product. */
export type BaseImageRequirement = UserRequirement | GroupRequirement | PackageRequirement | KernelParameterRequirement | SwapRequirement;

/** Read access to the base being checked, for `validateBase`. */
export interface BaseView {
  /** `image`: a base image before `createTemplate` writes on it; `host`: a deployment target before `deploy`. */
  readonly kind: 'image' | 'host';
  /** For messages: the base image's path, or the host (`local`, `ssh://user@host:22`). */
  readonly description: string;
  /** A file's bytes (absolute path); undefined when it does not exist. */
  readFile(path: string): Promise<Uint8Array | undefined>;
}

/**
 * Checked before an image is written on a base (`abctl createTemplate`, `validateBase`) and
 * on each host before a plain deploy (`deploy`, `validateHost`). Every member of the chain
 * is asked; every unmet requirement of every member is listed at once (docs/requirements.md).
 */
export interface BaseImageValidationPlugin {
  /** The registering plugin's name (checked at registration: the registry knows the owner). */
  readonly pluginName: string;
  /** What the product needs of the base (SDK 1.2: checked; each field is documented on its type). */
  baseImageRequirements?(): readonly BaseImageRequirement[] | Promise<readonly BaseImageRequirement[]>;
  /** Since SDK 1.2: a check of the plugin's own; its messages are listed with the others (a `rejection` refuses). */
  validateBase?(base: BaseView): readonly ValidationMessage[] | Promise<readonly ValidationMessage[]>;
}

