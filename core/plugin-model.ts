import type { ErrorCode, PluginCode } from './errors.js';
/**
 * What the framework knows about a plugin directory before any of its code runs:
 * the parsed `plugin.config`, where it came from, its place in the extension tree and
 * its state. Pure data; built by `core/plugin-tree.ts` from what discovery read.
 */

/** Parsed and validated `plugin.config`. Optional keys have their documented defaults applied. */
export interface PluginManifest {
  readonly name: string;
  readonly version: string;
  /** Default: empty string. */
  readonly description: string;
  /** Informational only. */
  readonly minProductVersion: string | undefined;
  /** Informational only. */
  readonly maxProductVersion: string | undefined;
  /** Default: "1.0" (the first SDK). */
  readonly minSdkVersion: string;
  /** Set for extensions only. */
  readonly parentName: string | undefined;
  /** Extensions only; default: any parent version. */
  readonly minParentVersion: string | undefined;
  /** Entry module relative to the plugin directory; default "index.js". */
  readonly main: string;
}

/** `bundled`: the project's own plugins/; `installed`: the instance's plugins/. */
export type PluginSource = 'bundled' | 'installed';

export type PluginState = 'enabled' | 'disabled' | 'broken';

/** One thing wrong with a plugin, precise enough to fix: which file, which key, what to do. */
export interface PluginProblem {
  readonly code: ErrorCode | PluginCode;
  readonly message: string;
  /** File (and key or line) the problem is in. */
  readonly where: string;
  readonly hint?: string;
}

/** A plugin directory as read from disk, before the tree is built. */
export interface PluginDirectoryReading {
  /** Directory name; the plugin's name when the manifest is valid. */
  readonly dirName: string;
  readonly directory: string;
  readonly source: PluginSource;
  /** Undefined when plugin.config is missing or invalid; `problems` says why. */
  readonly manifest: PluginManifest | undefined;
  readonly problems: readonly PluginProblem[];
}

/** Read-only once built: activation reports its outcome instead of changing records. */
export interface PluginRecord {
  readonly name: string;
  readonly directory: string;
  readonly source: PluginSource;
  readonly manifest: PluginManifest | undefined;
  /** Manifest, tree and activation problems; non-empty means `broken`. */
  readonly problems: readonly PluginProblem[];
  readonly parentName: string | undefined;
  /** Direct children (extensions), sorted by name. */
  readonly children: readonly string[];
  /** Name of the top-level plugin of this record's chain (itself for a plugin). */
  readonly rootName: string;
  readonly state: PluginState;
  /** Why it is disabled: `user` (disabled by name) or the ancestor whose disabling or breakage carries over. */
  readonly disabledBy: string | undefined;
  /**
   * The user disabled it or an ancestor, whatever its state: a broken plugin stays `broken`
   * (its problems are still worth showing), but a chain leaves it out like a disabled one.
   */
  readonly userDisabled?: boolean;
}

/** All plugins known to one process: the result of discovery. */
export interface PluginInventory {
  /** Every record by name, including broken ones. */
  readonly records: ReadonlyMap<string, PluginRecord>;
  /** Problems that belong to no single plugin (unreadable plugin directory, ...). */
  readonly problems: readonly PluginProblem[];
  /**
   * Later readings of a name some earlier reading already took (installed before bundled),
   * kept as `broken` records outside `records`; their PLUGIN_DUPLICATE_NAME problem is
   * also in `problems`.
   */
  readonly duplicates?: readonly PluginRecord[];
}

/**
 * What one activation run did with an enabled plugin. Activation reports this instead of
 * changing the inventory; `withActivationOutcome` (core/plugin-tree.ts) turns it into the
 * inventory the rest of the process sees.
 */
export type PluginActivation =
  | { readonly status: 'active' }
  /** Its entry module or one of its activators failed (now, or the same way in an earlier command). */
  | { readonly status: 'broken'; readonly problems: readonly PluginProblem[] }
  /** Not started because `brokenAncestor` broke; `problems` says so, after its own import failure if it had one. */
  | { readonly status: 'skipped'; readonly brokenAncestor: string; readonly problems: readonly PluginProblem[] };

/** Every enabled plugin one activation run considered, in the order each one settled. */
export interface ActivationOutcome {
  readonly plugins: ReadonlyMap<string, PluginActivation>;
}
