/**
 * The utilities abctl hands plugins (SDK 1.4): `ctx.utils` in `dehydrate` and in the lifecycle
 * hooks, and the `UtilFactory` service of the registry (the reference SDK's UtilFactory, 5.7).
 * Types only, no I/O; services/utils/ implements them. See docs/plugin-contract.md#utilities.
 */
import type { RunRequest, RunResult } from './lifecycle-contract.js';
import type { ContentResourceData } from './plugin-contract.js';
import type { RunOptions, RunResult as HostRunResult } from './reference-host.js';

/** Where `passwordFrom` takes an SSH password: never from a command line. */
export type SshPasswordSource =
  /** The first line of a file (mode 0600, please). */
  | { readonly file: string }
  /** An environment variable of the abctl process. */
  | { readonly env: string }
  /** A value the plugin holds, e.g. `ctx.password('admin.password')` during rehydrate. */
  | { readonly value: string };

export interface SshOptions {
  /** Login name; default the one in `target` (`user@host`), else the current user. */
  readonly user?: string;
  /** Default the one in `target`, else 22. */
  readonly port?: number;
  /** Private key file(s) to offer; default ~/.ssh/id_ed25519, id_ecdsa, id_rsa (those that exist). */
  readonly identity?: string | readonly string[];
  /** known_hosts file the host key must be in; default ~/.ssh/known_hosts. There is no way to skip the check. */
  readonly knownHosts?: string;
  readonly passwordFrom?: SshPasswordSource;
  /** Handshake and login deadline; default 20 000 ms. */
  readonly connectTimeoutMs?: number;
}

/** `exec` options: those of the reference host's `run` (env through stdin, never the command line; default limit 30 s). */
export type SshExecOptions = Pick<RunOptions, 'cwd' | 'env' | 'timeoutMs' | 'input'>;

/** 127 when the command is not found, 128 + n when killed by signal n. */
export type SshExecResult = HostRunResult;

/** One SSH connection to another machine, host key checked. Closed by `close()` or at the end of the operation. */
export interface SshConnection {
  /** `user@host:port`. */
  readonly target: string;
  /** Runs a program (no shell); a non-zero exit is returned, not thrown. */
  exec(argv: readonly string[], options?: SshExecOptions): Promise<SshExecResult>;
  /** A whole file (absolute path). */
  readFile(path: string, options?: { readonly timeoutMs?: number }): Promise<Uint8Array>;
  /** Writes a file atomically (a temporary file beside it, then a rename); default mode 0644. */
  writeFile(path: string, data: string | Uint8Array, options?: { readonly mode?: number; readonly timeoutMs?: number }): Promise<void>;
  close(): Promise<void>;
}

/**
 * `ctx.run`'s request without `detached`: the utilities' runner waits for the program. `user`
 * switches through the process's uid/gid (root needed); over SSH only the login user is possible.
 */
export type UtilRunRequest = Omit<RunRequest, 'detached'>;

/** As `ctx.run` returns it; `signal` is null over SSH (a killed command there gives 128 + n). */
export type UtilRunResult = RunResult;

/** How one variable of a content builder is found in the source text. */
export interface ContentVariableOptions {
  /** Zero matches are allowed (the variable then does not appear); default false: zero matches is an error. */
  readonly optional?: boolean;
  /** Write the variable through a format helper (`{{xml [name]}}`...), for values quoted by the file's syntax. */
  readonly helper?: 'xml' | 'shell' | 'json';
}

/** A variable the builder put in the template: its name, the text it replaced, how often. */
export interface ContentVariable {
  readonly name: string;
  /** The text as it was in the file at the first place (give the property this value). */
  readonly value: string;
  readonly count: number;
}

/** A template content resource, ready for `ctx.addContentResource(appliance, built)`. */
export interface BuiltContent extends ContentResourceData {
  readonly content: string;
  readonly template: true;
  readonly variables: readonly ContentVariable[];
}

/**
 * Turns a config file into a template: chosen literal values become `{{name}}` variables, and
 * whatever else looks like template syntax (`{{`) is escaped so it stays literal.
 */
export interface ContentBuilder {
  /**
   * `match` as a string: every occurrence of that literal text. As a RegExp: every match (the
   * flag `g` is implied), and of each match only its first capture group when it has one (so
   * `/^port\s*=\s*(\d+)/m` replaces the number and keeps `port = `).
   */
  variable(name: string, match: string | RegExp, options?: ContentVariableOptions): ContentBuilder;
  /** The template; throws naming the variable when a required one matched nothing, or two overlap. */
  build(name: string, options?: { readonly description?: string; readonly exposeAs?: string }): BuiltContent;
}

/** A source for `contentBuilder`: a file (on the reference host in dehydrate, on the instance in lifecycle hooks), or text/bytes. */
export type ContentSource = { readonly path: string } | { readonly text: string } | { readonly bytes: Uint8Array };

/** A JSON value, as the cache stores it. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * Values slow to get from a host, kept between commands (the reference SDK's plugin cache):
 * one store per plugin and host under abctl's state directory, each entry with an expiry.
 * Not for secrets: the file is private (0600) but not encrypted.
 */
export interface HostCache {
  /** The host this store belongs to. */
  readonly host: string;
  /** Stores `value` for `ttlMs` (default 30 000 ms). */
  set(key: string, value: JsonValue, ttlMs?: number): Promise<void>;
  /** The value, or undefined when absent or expired. */
  get<T extends JsonValue = JsonValue>(key: string): Promise<T | undefined>;
  /** Pushes the expiry `ttlMs` further; false when there is no live entry. */
  extend(key: string, ttlMs: number): Promise<boolean>;
  /** Removes one entry, or with no key every entry of this plugin and host. */
  clear(key?: string): Promise<void>;
}

/**
 * Product version -> module: keys are semver ranges (`>=10 <12`, `9.x`, `10.0 - 11.9`, `*`),
 * values module paths relative to the plugin's directory (or absolute). The first key whose
 * range holds the version wins, in the order written.
 */
export type ImplementationTable = Readonly<Record<string, string>>;

/** Signals `stopProcess` may send (SDK 1.6). */
export type StopSignal = 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2';

/** How `stopProcess` asks a process to end and how long it waits (SDK 1.6). */
export interface StopProcessOptions {
  /** Default SIGTERM. */
  readonly signal?: StopSignal;
  /** How long the process may take to be gone; default 10 000 ms. */
  readonly timeoutMs?: number;
  /** What the process is, for the error on timeout ("Tomcat"); default "process". */
  readonly name?: string;
}

/** Shared helpers for plugins (5.7 of the reference). */
export interface UtilFactory {
  /** The plugin SDK version abctl implements, so a plugin can adapt. */
  readonly sdkVersion: string;
  /** Opens an SSH connection (host key checked against known_hosts). */
  ssh(target: string, options?: SshOptions): Promise<SshConnection>;
  /** A content builder over a file or text (see ContentBuilder). */
  contentBuilder(source: ContentSource): Promise<ContentBuilder>;
  /**
   * Runs a program where the operation works: on the reference host during dehydrate (this
   * machine or over SSH), on the instance during rehydrate/start/stop/ping.
   */
  run(request: UtilRunRequest): Promise<UtilRunResult>;
  /**
   * A new empty file (mode 0600), in the job's scratch directory during dehydrate (on the abctl
   * machine, never the reference host) or the instance's tmp directory in lifecycle hooks;
   * removed when the operation ends.
   */
  tempFile(options?: { readonly prefix?: string; readonly suffix?: string; readonly content?: string | Uint8Array }): Promise<string>;
  /** A new empty directory (mode 0700), same place and lifetime as `tempFile`. */
  tempDir(options?: { readonly prefix?: string }): Promise<string>;
  /** This plugin's cache for `host` (default: the operation's host: the reference host, or this instance). */
  cache(host?: string): HostCache;
  /**
   * Imports the module of `table` whose range holds `version` (the product version found at run
   * time) and returns its namespace; a plugin error when none fits or it fails to load.
   */
  loadImplementation<T = Record<string, unknown>>(version: string, table: ImplementationTable): Promise<T>;
  /**
   * Lifecycle hooks only (SDK 1.6): sends `signal` to the instance's process `pid` and waits,
   * bounded, until it is gone. Resolves to true once it is, false when it was not running; on
   * timeout a plugin error (UTIL_STOP_TIMEOUT) naming it and how to end it; when the operation
   * is cancelled it stops waiting and rejects.
   */
  stopProcess(pid: number, options?: StopProcessOptions): Promise<boolean>;
  /**
   * Lifecycle hooks only (SDK 1.6): waits up to `timeoutMs` (default 10 000) until the
   * instance's process `pid` is gone, for a process asked to stop another way (its own stop
   * command); true once it is, false at the limit. Cancelling the operation rejects.
   */
  waitForExit(pid: number, timeoutMs?: number): Promise<boolean>;
}
