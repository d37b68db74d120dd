/**
 * The implementation provider (the reference SDK's `createImplProvider` and its `dynlib`
 * directories): a plugin keeps one wrapper module per product API generation and imports the
 * one for the version it finds at run time. Ranges are semver's (the `semver` package), and a
 * product version is read loosely (`16.4`, `10.1.34`, `7.2.4-rc1`, `16.4 (Debian 16.4-1)`).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { PluginError, errorText } from '../../core/errors.js';
import type { ImplementationTable } from '../../core/util-contract.js';
import { importModule } from '../module-import.js';

export interface ImplementationChoice {
  readonly range: string;
  /** Absolute path of the module. */
  readonly module: string;
}

/** The first entry of `table` whose range holds `version`; a plugin error naming all ranges otherwise. */
export function chooseImplementation(plugin: string, pluginDir: string, version: string, table: ImplementationTable): ImplementationChoice {
  const entries = Object.entries(table ?? {});
  if (entries.length === 0) {
    throw new PluginError(plugin, 'UTIL_IMPLEMENTATION_NONE', 'loadImplementation() was given no implementations', {
      hint: "pass { '<range>': './path/to/module.js', ... }, e.g. { '>=10 <12': './impl/v10.js', '>=12': './impl/v12.js' }",
    });
  }
  for (const [range] of entries) {
    if (semver.validRange(range, { loose: true }) === null) {
      throw new PluginError(plugin, 'UTIL_IMPLEMENTATION_NONE', `loadImplementation(): "${range}" is not a version range`, {
        hint: 'write ranges as semver does: ">=10 <12", "9.x", "10.0 - 11.9", "*"',
      });
    }
  }
  const parsed = semver.coerce(typeof version === 'string' ? version : String(version));
  const listed = entries.map(([r]) => `"${r}"`).join(', ');
  if (parsed === null) {
    throw new PluginError(plugin, 'UTIL_IMPLEMENTATION_NONE', `loadImplementation(): cannot read a version number in ${JSON.stringify(version)}`, {
      hint: `pass the product version the plugin found (e.g. "16.4"); its implementations cover ${listed}`,
    });
  }
  const hit = entries.find(([range]) => semver.satisfies(parsed, range, { loose: true }));
  if (hit === undefined) {
    throw new PluginError(plugin, 'UTIL_IMPLEMENTATION_NONE', `plugin ${plugin} has no implementation for product version ${version} (read as ${parsed.version}); it has ${listed}`, {
      hint: 'this product version is not supported by this plugin version: look for a newer plugin, or add an implementation for it',
    });
  }
  const [range, path] = hit;
  return { range, module: isAbsolute(path) ? path : resolve(pluginDir, path) };
}

/** Imports the chosen module; a failure to load is the plugin's error, naming the file. */
export async function loadImplementation<T>(plugin: string, pluginDir: string, version: string, table: ImplementationTable): Promise<T> {
  const choice = chooseImplementation(plugin, pluginDir, version, table);
  try {
    return await importModule<T>(pathToFileURL(choice.module).href);
  } catch (err) {
    throw new PluginError(plugin, 'UTIL_IMPLEMENTATION_FAILED', `the implementation for ${version} (${choice.range}) failed to load: ${errorText(err)}`, {
      where: choice.module,
      hint: 'check that the file exists in the plugin directory and is an ES module that loads',
      cause: err,
    });
  }
}
