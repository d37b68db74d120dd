import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { PluginDirectoryReading } from '../../core/plugin-model.js';
import { readPluginDirectories } from './discovery.js';

/** Where a product installation keeps the plugins it ships (documented in docs/plugins.md). */
export const PRODUCT_PLUGIN_SUBDIR = join('plugins', 'introspector');

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

export type ProductHomeLayout = 'product-home' | 'single-plugin' | 'flat';

/**
 * Reads the plugins a product installation ships. Layouts, first match wins:
 * `<home>/plugins/introspector/<name>/plugin.config` (product home),
 * `<home>/plugin.config` (the directory is one plugin),
 * `<home>/<name>/plugin.config` (a directory of plugins).
 */
export async function readProductPlugins(home: string): Promise<{
  layout: ProductHomeLayout;
  readings: PluginDirectoryReading[];
  problems: PluginDirectoryReading['problems'];
}> {
  const nested = join(home, PRODUCT_PLUGIN_SUBDIR);
  if (await isDir(nested)) {
    const { readings, problems } = await readPluginDirectories([{ path: nested, source: 'installed' }]);
    return { layout: 'product-home', readings, problems };
  }
  if (await isFile(join(home, 'plugin.config'))) {
    const { readings, problems } = await readPluginDirectories([{ path: dirname(home), source: 'installed' }]);
    return { layout: 'single-plugin', readings: readings.filter((r) => r.dirName === basename(home)), problems };
  }
  const { readings, problems } = await readPluginDirectories([{ path: home, source: 'installed' }]);
  return { layout: 'flat', readings, problems };
}
