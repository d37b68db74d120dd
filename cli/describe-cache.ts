/**
 * The output of `abctl describePlugins`, kept under the instance between runs (issue 14). Only
 * activation knows some of what it shows (alias extensions, activation failures), and activating
 * means loading the DI container and every plugin's code; while no file a plugin is made of has
 * changed, bin/abctl prints the kept output instead (cli/fast-path.ts). The key lists every file
 * and directory under both plugin directories (following a linked plugin to its sources) with
 * inode, size, mtime and ctime, the plugin state and link records, the abctl build, abctl's own
 * message files and the locale variables. What a plugin reads from elsewhere when it starts is
 * not in the key: deleting the cache directory makes the next run activate again.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SDK_VERSION } from '../core/plugin-contract.js';
import { projectRoot, type InstanceLayout } from '../services/instance.js';
import { BUILD_ID, fileKey, storeRecord } from './start-cache.js';

export const DESCRIBE_CACHE_FILE = 'plugins-description.json';

/** A plugin tree larger than this (a plugin shipping its node_modules) is not worth walking on every run. */
const MAX_ENTRIES = 5000;

export interface DescribeRecord {
  readonly key: string;
  /** stdout of `describePlugins --json` and of `describePlugins`. */
  readonly json: string;
  readonly text: string;
}

/** Appends one line per entry below `dir`; false when the tree is larger than the budget allows. */
function walk(dir: string, parts: string[], budget: { left: number }, seen: Set<string>): boolean {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return true; // the directory's own line already says what can be said
  }
  for (const name of names) {
    if (--budget.left < 0) return false;
    const path = join(dir, name);
    parts.push(`${path} ${fileKey(path)}`);
    let s;
    try {
      // stat, not lstat: a linked plugin is a symbolic link to the directory it runs from.
      s = statSync(path);
    } catch {
      continue;
    }
    if (!s.isDirectory()) continue;
    const id = `${s.dev}:${s.ino}`;
    if (seen.has(id)) continue; // a link loop
    seen.add(id);
    if (!walk(path, parts, budget, seen)) return false;
  }
  return true;
}

/**
 * The part of describePlugins' inputs that ships with abctl: the build, the SDK, abctl's message
 * files and the bundled plugins; undefined when it is not to be cached. The records made at build
 * time compare these by content instead (cli/shipped-records.ts).
 */
export function bundledDescribeKey(bundledPluginsDir: string): string | undefined {
  if (BUILD_ID === undefined) return undefined;
  const messages = join(projectRoot(), 'messages');
  const parts = [`build ${BUILD_ID}`, `sdk ${SDK_VERSION}`, `messages ${fileKey(messages)}`];
  const budget = { left: MAX_ENTRIES };
  const seen = new Set<string>();
  if (!walk(messages, parts, budget, seen)) return undefined;
  parts.push(`dir ${bundledPluginsDir} ${fileKey(bundledPluginsDir)}`);
  return walk(bundledPluginsDir, parts, budget, seen) ? parts.join('\n') : undefined;
}

/** Everything describePlugins' output depends on; undefined when it is not to be cached. */
export function describeCacheKey(layout: InstanceLayout, env: NodeJS.ProcessEnv = process.env): string | undefined {
  // Debug lines of the plugins' activation go to stderr: a debug run must really activate.
  if (env.AB_DEBUG) return undefined;
  const bundled = bundledDescribeKey(layout.bundledPluginsDir);
  if (bundled === undefined) return undefined;
  const parts = [
    `locale ${env.LC_ALL ?? ''}:${env.LC_MESSAGES ?? ''}:${env.LANG ?? ''}`,
    `state ${fileKey(join(layout.configDir, 'plugin-state.json'))}`,
    `links ${fileKey(join(layout.configDir, 'plugin-links.json'))}`,
    `dir ${layout.pluginsDir} ${fileKey(layout.pluginsDir)}`,
  ];
  if (!walk(layout.pluginsDir, parts, { left: MAX_ENTRIES }, new Set())) return undefined;
  return `${parts.join('\n')}\n${bundled}`;
}

export function describeCacheFile(layout: InstanceLayout): string {
  return join(layout.cacheDir, DESCRIBE_CACHE_FILE);
}

export function storeDescription(layout: InstanceLayout, record: DescribeRecord): void {
  storeRecord(layout.root, layout.cacheDir, describeCacheFile(layout), record);
}
