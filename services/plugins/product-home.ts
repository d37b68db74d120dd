import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { posix } from 'node:path';
import { parsePluginConfig } from '../../core/plugin-manifest.js';
import type { PluginManifest, PluginDirectoryReading } from '../../core/plugin-model.js';
import type { ReferenceHost } from '../../core/reference-host.js';
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

/**
 * The manifests a product home ships, read through a reference host (the product may be on
 * another machine). Same layouts, in the same order of preference, as readProductPlugins.
 * Unreadable or invalid manifests are skipped: this serves the upgrade check, not installation.
 */
export async function readProductManifestsOnHost(host: ReferenceHost, home: string): Promise<{ manifest: PluginManifest; directory: string }[]> {
  const layouts: [pattern: string, base: (hit: string) => string][] = [
    [`${PRODUCT_PLUGIN_SUBDIR}/*/plugin.config`, (hit) => posix.dirname(hit)],
    ['plugin.config', () => '.'],
    ['*/plugin.config', (hit) => posix.dirname(hit)],
  ];
  for (const [pattern, base] of layouts) {
    const hits = await host.glob(pattern, { cwd: home }).catch(() => [] as string[]);
    if (hits.length === 0) continue;
    const found: { manifest: PluginManifest; directory: string }[] = [];
    for (const hit of hits) {
      const directory = posix.join(home, base(hit));
      const text = await host.readText(posix.join(home, hit)).catch(() => undefined);
      const manifest = text === undefined ? undefined : parsePluginConfig(text, { file: posix.join(home, hit), dirName: posix.basename(directory) }).manifest;
      if (manifest) found.push({ manifest, directory });
    }
    return found;
  }
  return [];
}
