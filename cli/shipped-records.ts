/**
 * Answers recorded at build time (scripts/shipped-records.mjs) for the bundled plugins as shipped,
 * so that the first `abctl --help` or `abctl describePlugins` of a new instance is as quick as
 * the later ones (issue 14): an instance keeps its own records only once a command has run. They
 * are used only when nothing of the instance can change the answer (no plugin state, no link
 * record, no installed plugin) and the shipped part of the key (build, SDK, every file under the
 * bundled plugins and abctl's messages) is what the build saw. Only the instance's path differs
 * between instances: describePlugins prints it, so its records keep the text around it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { userLocale } from '../core/locale.js';
import { projectRoot, type InstanceLayout } from '../services/instance.js';
import { bundledHelpKey } from './help-cache.js';
import { BUILD_ID, readRecord } from './start-cache.js';

/** The index of the help texts: which text answers which terminal width. */
export const SHIPPED_HELP_FILE = 'help.json';

/**
 * `abctl --help` is commander's text of the built-in commands, which depends on the build and the
 * terminal's width, then the instance's introspect commands, which depend on the plugins.
 */
export interface ShippedHelpIndex {
  /** `build <id>`: the texts below are this build's. */
  readonly key: string;
  /** Text number when stdout is not a terminal. */
  readonly pipe: number;
  /** Text number for every terminal of `wideFrom` columns or more (nothing wraps there). */
  readonly wide: number;
  readonly wideFrom: number;
  /** Text number by terminal width below `wideFrom`. */
  readonly byWidth: readonly number[];
  /** The introspect commands' lines for a new instance, while the bundled plugins are the build's (shippedHelpKey). */
  readonly list: { readonly key: string; readonly text: string };
}

export interface ShippedDescription {
  readonly key: string;
  /** stdout of `describePlugins --json` and of `describePlugins`, cut where the instance's path goes. */
  readonly json: readonly string[];
  readonly text: readonly string[];
}

export function shippedDir(): string {
  return join(projectRoot(), 'dist', 'cli-bundle', 'shipped');
}

export const shippedHelpText = (n: number): string => `help-${n}.txt`;
export const shippedDescribeFile = (locale: string): string => `describe-${locale}.json`;

/** The key of the shipped help texts; undefined when not built (the CLI run from its sources). */
export function shippedHelpKey(bundledPluginsDir: string): string | undefined {
  return BUILD_ID === undefined ? undefined : `build ${BUILD_ID}\n${bundledHelpKey(bundledPluginsDir)}`;
}

/** True only for a path known not to exist: one that cannot be read may still change the answer. */
function absent(path: string): boolean {
  try {
    statSync(path);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** An instance whose plugins are the bundled ones, all enabled: no state, no links, nothing installed. */
export function pristineInstance(layout: InstanceLayout): boolean {
  if (!absent(join(layout.configDir, 'plugin-state.json')) || !absent(join(layout.configDir, 'plugin-links.json'))) return false;
  try {
    return readdirSync(layout.pluginsDir).length === 0;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function helpIndex(): ShippedHelpIndex | undefined {
  return BUILD_ID === undefined ? undefined : readRecord<ShippedHelpIndex>(join(shippedDir(), SHIPPED_HELP_FILE), `build ${BUILD_ID}`);
}

function builtInText(index: ShippedHelpIndex, width: number | undefined): string | undefined {
  const n = width === undefined ? index.pipe : width >= index.wideFrom ? index.wide : index.byWidth[width];
  return typeof n === 'number' ? readFileSync(join(shippedDir(), shippedHelpText(n)), 'utf8') : undefined;
}

/** The built-in part of `abctl --help` for a terminal of `width` columns (undefined: not a terminal), when the build recorded it. */
export function builtInHelpFor(width: number | undefined): string | undefined {
  const index = helpIndex();
  return index && builtInText(index, width);
}

/** The whole `abctl --help` of a new instance with the shipped plugins, when the build recorded it. */
export function shippedHelp(layout: InstanceLayout, width: number | undefined): string | undefined {
  const index = helpIndex();
  if (index === undefined || index.list.key !== shippedHelpKey(layout.bundledPluginsDir) || !pristineInstance(layout)) return undefined;
  const builtIn = builtInText(index, width);
  return builtIn === undefined ? undefined : `${builtIn}${index.list.text}`;
}

/** describePlugins' output for this instance when the build recorded it (`shippedKey`: describeCacheKeys). */
export function shippedDescription(layout: InstanceLayout, shippedKey: string, env: NodeJS.ProcessEnv, json: boolean): string | undefined {
  if (!pristineInstance(layout)) return undefined;
  const record = readRecord<ShippedDescription>(join(shippedDir(), shippedDescribeFile(userLocale(env))), shippedKey);
  if (record === undefined) return undefined;
  // jsonText writes strings with JSON.stringify: the path goes in escaped the same way.
  return json ? record.json.join(JSON.stringify(layout.root).slice(1, -1)) : record.text.join(layout.root);
}
