/**
 * The introspect-command list of `abctl --help`, kept under the instance between runs: reading
 * one small JSON file and stat-ing each plugin.config costs less than loading the scan's code
 * and parsing every plugin.config (issue 14). The key is everything the scan reads: the entries
 * of both plugin directories, each plugin.config's inode, size and mtime, the plugin state
 * file's, and the SDK version (it decides which plugins are compatible). Written by hand: the
 * key is specific to discovery's inputs, and no library reads that.
 */
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync, mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { instanceLayout, resolveInstanceDir, type InstanceLayout } from '../services/instance.js';
import { SDK_VERSION } from '../core/plugin-contract.js';
import type { IntrospectCommandName } from './help-plugins.js';

/** File name under the instance's cache directory. */
export const HELP_CACHE_FILE = 'help-commands.json';

function fileKey(path: string): string {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch {
    return '-';
  }
}

/** What the plugin scan would read, as one string; changes whenever its result could. */
export function helpCacheKey(layout: InstanceLayout): string {
  const parts = [`sdk ${SDK_VERSION}`, `state ${fileKey(join(layout.configDir, 'plugin-state.json'))}`];
  for (const dir of [layout.pluginsDir, layout.bundledPluginsDir]) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      names = [];
    }
    parts.push(`dir ${dir}`);
    for (const n of names) parts.push(`${n} ${fileKey(join(dir, n, 'plugin.config'))}`);
  }
  return parts.join('\n');
}

interface CacheRecord {
  readonly key: string;
  readonly commands: IntrospectCommandName[];
}

function instanceLayoutFor(instanceFlag: string | undefined): InstanceLayout {
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
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as CacheRecord;
    if (record.key === key && Array.isArray(record.commands)) return record.commands;
  } catch {
    // no cache yet, or unreadable: scan
  }
  const { introspectCommandNames } = await import('./help-plugins.js');
  const commands = await introspectCommandNames(instanceFlag);
  // Only an instance that exists gets a cache: --help must not create ~/.abctl.
  if (fileKey(layout.root) !== '-') store(layout.cacheDir, file, { key, commands });
  return commands;
}

function store(dir: string, file: string, record: CacheRecord): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, JSON.stringify(record));
    renameSync(tmp, file);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}

/** The lines the top-level help adds after the built-in commands. */
export async function introspectionHelp(instanceFlag: string | undefined): Promise<string> {
  let commands: IntrospectCommandName[];
  try {
    commands = await cachedIntrospectCommandNames(instanceFlag);
  } catch {
    // Help must always print; a broken instance shows up in describePlugins instead.
    return '';
  }
  if (commands.length === 0) return '\nNo enabled plugin on this instance, so no introspect<name> command (abctl describePlugins).\n';
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}${c.description}`);
  return `\nIntrospection commands of this instance (plus alias extensions: abctl describePlugins):\n${lines.join('\n')}\n`;
}
