/**
 * The deployed half of the plugin contract (SDK 1.1): what a plugin's or an extension's
 * introspector service may implement to re-create its product on an instance
 * (`rehydrate`, `start`, `stop`, `ping`), what abctl hands those methods, and the late
 * bindings that only a deployment knows. All four are optional: a plugin written for SDK
 * 1.0 still deploys (its file sets are extracted; start/stop/ping say "not supported").
 * See docs/rehydration.md. Types only, no I/O.
 */
import type { PluginLogger, WithMessages } from './plugin-contract.js';
import type { UtilFactory } from './util-contract.js';

/** Version of the SDK that added these methods; a plugin relying on them sets `minSdkVersion=1.1`. */
export const LIFECYCLE_SDK_VERSION = '1.1';

export const LIFECYCLE_OPERATIONS = ['rehydrate', 'start', 'stop', 'ping'] as const;
export type LifecycleOperation = (typeof LIFECYCLE_OPERATIONS)[number];

// ---------------------------------------------------------------- late bindings

/** Where this instance runs: known only once the deployment places it. */
export interface InstanceBinding {
  readonly hostName: string;
  readonly addresses: readonly string[];
  /** 1-based, as the deployment plan numbers instances. */
  readonly index: number;
}

/** One input an output is connected to: an appliance's (all its instances) or an external resource's. */
export interface PeerBinding {
  /** The peer's path in the assembly (`db`, `tier/db`). */
  readonly appliance: string;
  readonly input: string;
  /** True when the peer is an external resource (no instance of it is deployed). */
  readonly external: boolean;
  /** Host names of the peer's instances (for an external resource, what its properties say, if anything). */
  readonly hostNames: readonly string[];
  readonly addresses: readonly string[];
  readonly port: number | undefined;
  /**
   * The input's properties (an external resource's properties merged under them). Values as
   * strings, password values included: a plugin reads them here as any other.
   */
  readonly properties: Readonly<Record<string, string>>;
  /**
   * Names among `properties` whose values are passwords (SDK 1.6, optional: absent means none).
   * Where bindings rest they are kept apart: sealed in a bundle, in the Secret of a container,
   * and redacted from log lines. Reading one without the bundle's key fails (BUNDLE_KEY_MISSING).
   */
  readonly secretProperties?: readonly string[];
}

/** What the deployment adds to one instance's metadata before rehydrate (`bindings.json` in a bundle). */
export interface LateBindings {
  readonly instance: InstanceBinding;
  /** Output name -> the inputs it is connected to (usually one); outputs not connected are absent. */
  readonly outputs: Readonly<Record<string, readonly PeerBinding[]>>;
}

// ---------------------------------------------------------------- what the context shows

/** A property as the context shows it: password values are never here (use `ctx.password`). */
export interface PropertyView {
  readonly name: string;
  readonly type: 'string' | 'int' | 'boolean' | 'password' | 'fileRef';
  readonly category: 'user' | 'system';
  /** The effective value; always undefined for a password (ask `ctx.password(name)`). */
  readonly value: string | undefined;
  /** Whether a value is set (also for passwords). */
  readonly hasValue: boolean;
}

export interface InputView {
  readonly name: string;
  readonly port: number | undefined;
  readonly protocols: readonly string[];
  readonly interfaceName: string;
  readonly properties: readonly PropertyView[];
}

export interface OutputView {
  readonly name: string;
  readonly protocol: string;
  readonly properties: readonly PropertyView[];
  /** The inputs this output is connected to in this deployment; empty when not connected. */
  readonly peers: readonly PeerBinding[];
}

export interface FileSetView {
  readonly name: string;
  /** Absolute; the same path as on the reference host. */
  readonly root: string;
  readonly owner: string;
  readonly group: string;
  readonly captured: boolean;
  readonly scope: 'local' | 'shared';
}

/** The appliance being deployed, with its effective properties (introspected < assembly < plan < late bindings). */
export interface TargetApplianceView {
  readonly name: string;
  readonly type: string;
  readonly creator: string;
  readonly properties: readonly PropertyView[];
  /** The effective value of a non-password property; undefined when unset or unknown; throws for a password. */
  property(name: string): string | undefined;
  readonly inputs: readonly InputView[];
  readonly outputs: readonly OutputView[];
  readonly fileSets: readonly FileSetView[];
  readonly contentResources: readonly string[];
}

/** Read-only view of the whole assembly (other members' passwords are not in the bundle). */
export interface AssemblyNavigator {
  readonly name: string;
  /** Appliance paths (`web`, `tier/db`), external resources included. */
  members(): readonly string[];
  /** One member by path; undefined when there is none. */
  member(path: string): { readonly name: string; readonly type: string; readonly external: boolean; readonly properties: readonly PropertyView[]; readonly inputs: readonly InputView[] } | undefined;
  /** Every connection as `from` output path and `to` input path (`web/db` -> `db/sql`). */
  connections(): readonly { readonly from: string; readonly to: string }[];
}

/** A fileRef property's target, resolved: only `contentresource:` is; other schemes are skipped. */
export type FileRefResolution =
  | { readonly kind: 'contentResource'; readonly name: string; readonly path: string }
  | { readonly kind: 'skipped'; readonly uri: string; readonly reason: string }
  | { readonly kind: 'unset' };

// ---------------------------------------------------------------- helpers

export interface Ownership {
  /** User name on this machine; must exist. */
  readonly owner?: string;
  readonly group?: string;
  /** Permission bits, e.g. 0o640. */
  readonly mode?: number;
}

export interface RenderOptions extends Ownership {
  /**
   * Template variables, laid over the defaults: every non-password effective property by its
   * name and the late-binding variables (`ovab.instance.hostName`, `ovab.output.<name>.port`,
   * ...; docs/templates.md). A password reaches a template only when the plugin passes
   * `ctx.password(name)` here. (Before SDK 1.2 these replaced the defaults.)
   */
  readonly variables?: Readonly<Record<string, unknown>>;
}

export interface RunRequest {
  /** Program and arguments; no shell is involved. */
  readonly argv: readonly string[];
  /** Run as this user (and its primary group); default: the agent's own user. */
  readonly user?: string;
  readonly cwd?: string;
  /** Added to a minimal environment (PATH, HOME, LANG); never part of any command line. */
  readonly env?: Readonly<Record<string, string>>;
  /** Default 60 000 ms; on expiry the program is killed and `run` throws. */
  readonly timeoutMs?: number;
  /** Written to the program's stdin, then closed. */
  readonly input?: string;
  /**
   * Leave the program running in the background (a server): its output goes to `logFile`
   * (appended) and `run` returns once it started, with `pid`.
   */
  readonly detached?: { readonly logFile: string };
}

export interface RunResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set for detached runs. */
  readonly pid?: number;
}

export interface PingResult {
  readonly healthy: boolean;
  readonly message: string;
}

/**
 * What `rehydrate`, `start`, `stop` and `ping` receive; each participant gets its own, over
 * the same instance. Rehydrate runs as root on the instance and sets owners itself.
 */
export interface LifecycleContext extends WithMessages {
  readonly pluginName: string;
  readonly operation: LifecycleOperation;
  readonly appliance: TargetApplianceView;
  readonly instance: InstanceBinding;
  readonly navigator: AssemblyNavigator;
  readonly log: PluginLogger;
  /** Fires when the operation is cancelled (Ctrl-C, a deploy giving up): stop waiting then. */
  readonly signal: AbortSignal;
  /** A password property's clear value; undefined when unset. Never log it. */
  password(name: string): string | undefined;
  /** Bytes of one of the appliance's content resources. */
  contentResource(name: string): Promise<Uint8Array>;
  /** Resolves a fileRef property (or a URI): `contentresource:` only; other schemes are skipped, not errors. */
  resolveFileRef(propertyNameOrUri: string): FileRefResolution;
  /**
   * Renders a content resource as a strict template (an unknown variable is an error) to
   * `dest`, then sets owner/group/mode. A file that ends up holding a password value gets
   * mode 0600 whatever was asked.
   */
  renderContentResource(name: string, dest: string, options?: RenderOptions): Promise<void>;
  /** Copies a file (or a content resource's bytes when `from` is `contentresource:<name>`) and sets ownership. */
  copyFile(from: string, to: string, options?: Ownership): Promise<void>;
  setOwnership(path: string, ownership: Ownership & { readonly recursive?: boolean }): Promise<void>;
  /** Runs a program; a non-zero exit is returned, not thrown. */
  run(request: RunRequest): Promise<RunResult>;
  /** Shared helpers (SDK 1.4); `utils.run` is `run` without `detached`, temp files go to the instance's tmp dir. */
  readonly utils: UtilFactory;
}

/** The optional methods an introspector service (plugin or extension) may implement. */
export interface LifecycleHooks {
  /** Turns the saved metadata and late bindings into a working configuration; runs once per deployment (and again when bindings change). */
  rehydrate?(context: LifecycleContext): void | Promise<void>;
  /** Starts the product; runs after rehydrate and on every later start. */
  start?(context: LifecycleContext): void | Promise<void>;
  stop?(context: LifecycleContext): void | Promise<void>;
  ping?(context: LifecycleContext): PingResult | Promise<PingResult>;
}
