/**
 * The introspect-command list of `abctl --help`, kept under the instance between runs: reading
 * one small JSON file and stat-ing each plugin.config costs less than loading the scan's code
 * and parsing every plugin.config (issue 14). The key is everything the scan reads: the entries
 * of both plugin directories, each plugin.config's inode, size and mtime, the plugin state
 * file's, and the SDK version (it decides which plugins are compatible). Written by hand: the
 * key is specific to discovery's inputs, and no library reads that.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { instanceLayout, resolveInstanceDir, type InstanceLayout } from '../services/instance.js';
import { SDK_VERSION } from '../core/plugin-contract.js';
import type { IntrospectCommandName } from './help-plugins.js';
import { BUILD_ID, fileKey, readRecord, storeRecord } from './start-cache.js';

/** File name under the instance's cache directory. */
export const HELP_CACHE_FILE = 'help-commands.json';
/** The whole text of `abctl --help`, which bin/abctl prints without loading commander (cli/fast-path.ts). */
export const HELP_TEXT_FILE = 'help.json';

/** Names and plugin.config keys of one plugin directory's entries. */
function pluginDirKey(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    names = [];
  }
  return [`dir ${dir}`, ...names.map((n) => `${n} ${fileKey(join(dir, n, 'plugin.config'))}`)];
}

/** The part of the scan's inputs that ships with abctl: the SDK version and the bundled plugins. */
export function bundledHelpKey(bundledPluginsDir: string): string {
  return [`sdk ${SDK_VERSION}`, ...pluginDirKey(bundledPluginsDir)].join('\n');
}

/** What the plugin scan would read, as one string; changes whenever its result could. */
export function helpCacheKey(layout: InstanceLayout): string {
  return [`state ${fileKey(join(layout.configDir, 'plugin-state.json'))}`, ...pluginDirKey(layout.pluginsDir), bundledHelpKey(layout.bundledPluginsDir)].join('\n');
}

interface CacheRecord {
  readonly key: string;
  readonly commands: IntrospectCommandName[];
}

export function instanceLayoutFor(instanceFlag: string | undefined): InstanceLayout {
  const bundled = process.env.AB_BUNDLED_PLUGINS;
  return instanceLayout(resolveInstanceDir(instanceFlag), ...(bundled ? [bundled] : []));
}

/**
 * The cached list when its key still matches, else a fresh scan, stored for the next run.
 * Storing is best effort: a read-only or missing instance only loses the speed-up.
 */
export async function cachedIntrospectCommandNames(instanceFlag: string | undefined): Promise<IntrospectCommandName[]> {
  const layout = instanceLayoutFor(instanceFlag);
  const key = helpCacheKey(layout);
  const file = join(layout.cacheDir, HELP_CACHE_FILE);
  const record = readRecord<CacheRecord>(file, key);
  if (record && Array.isArray(record.commands)) return record.commands;
  const { introspectCommandNames } = await import('./help-plugins.js');
  const commands = await introspectCommandNames(instanceFlag);
  storeRecord(layout.root, layout.cacheDir, file, { key, commands });
  return commands;
}

export interface HelpTextRecord {
  readonly key: string;
  readonly text: string;
}

/**
 * The key of the whole help text: the command list's key, the build (the built-in commands'
 * help is in the code) and the width commander wraps to (the terminal's, 80 when not a terminal).
 */
export function helpTextKey(layout: InstanceLayout): string | undefined {
  if (BUILD_ID === undefined) return undefined;
  return `build ${BUILD_ID}\nwidth ${helpWidth() ?? '-'}\n${helpCacheKey(layout)}`;
}

/** The width commander wraps the help to: the terminal's; undefined (80) when stdout is not a terminal. */
export function helpWidth(): number | undefined {
  return process.stdout.isTTY ? process.stdout.columns : undefined;
}

/**
 * `abctl --help` as printed: commander's text (`builtIn`) and the instance's introspect commands.
 * The result is kept for bin/abctl's quick answer; the key is taken before the scan reads
 * anything, so a plugin changed meanwhile makes the record stale rather than wrong.
 */
export async function helpText(instanceFlag: string | undefined, builtIn: string): Promise<string> {
  const layout = instanceLayoutFor(instanceFlag);
  const key = helpTextKey(layout);
  const listed = await introspectionList(instanceFlag);
  const text = `${builtIn}${listed ?? ''}`;
  if (key !== undefined && listed !== undefined) storeRecord(layout.root, layout.cacheDir, join(layout.cacheDir, HELP_TEXT_FILE), { key, text });
  return text;
}

/** The lines the top-level help adds after the built-in commands; undefined when the plugins could not be listed. */
export async function introspectionList(instanceFlag: string | undefined): Promise<string | undefined> {
  let commands: IntrospectCommandName[];
  try {
    commands = await cachedIntrospectCommandNames(instanceFlag);
  } catch {
    // Help must always print; a broken instance shows up in describePlugins instead.
    return undefined;
  }
  if (commands.length === 0) return '\nNo enabled plugin on this instance, so no introspect<name> command (abctl describePlugins).\n';
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}${c.description}`);
  return `\nIntrospection commands of this instance (plus alias extensions: abctl describePlugins):\n${lines.join('\n')}\n`;
}
