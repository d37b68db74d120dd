/**
 * A plugin sandbox: a handful of plugin directories (a plugin, its extensions, the parents an
 * extension needs) discovered and activated in a container of their own, with no instance and
 * no catalog. validatePlugin and the test kit both run plugin code this way, so what they check
 * is what the real activation does (entry module rules, time limits, owner checks).
 */
import 'reflect-metadata';
import { basename, dirname, resolve } from 'node:path';
import { Container } from 'inversify';
import type { ServiceCollector } from '../../core/plugin-contract.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import type { PluginDirectoryReading, PluginInventory } from '../../core/plugin-model.js';
import { buildPluginInventory, withActivationOutcome } from '../../core/plugin-tree.js';
import { chainNames } from '../jobs/plugin-chain.js';
import { readPluginDirectories } from '../plugins/discovery.js';
import { PluginActivationService, ServiceRegistry, registryModule, type StopFailure } from '../registry/module.js';
import { utilsModule } from '../utils/module.js';

export interface SandboxOptions {
  /** Where plugin log lines go; default stderr. */
  readonly sink?: (line: string) => void;
  readonly debug?: boolean;
  /** Limit of each import/start (activation's default otherwise). */
  readonly timeoutMs?: number;
}

export interface PluginSandbox {
  /** The directories' plugins, activation failures applied (a plugin that did not start is broken). */
  readonly inventory: PluginInventory;
  readonly collector: ServiceCollector;
  /**
   * The root plugin of `name` and its enabled extensions, parent first, resolved as jobs resolve
   * it: a broken extension in the chain throws EXTENSION_BROKEN (validatePlugin lists it).
   */
  chainOf(name: string): string[];
  /** Stops every started activator; call once when done. */
  close(): Promise<StopFailure[]>;
}

/** Reads `plugin.config` of each directory (named after its plugin), as discovery does. */
export async function readPluginDirs(directories: readonly string[]): Promise<PluginDirectoryReading[]> {
  const out: PluginDirectoryReading[] = [];
  for (const dir of directories) {
    const abs = resolve(dir);
    // Discovery reads a parent directory; filtering to the one child keeps its rules (links, problems) unchanged.
    const { readings } = await readPluginDirectories([{ path: dirname(abs), source: 'installed' }]);
    const mine = readings.find((r) => r.dirName === basename(abs));
    if (mine) out.push(mine);
  }
  return out;
}

export async function openSandbox(directories: readonly string[], options: SandboxOptions = {}): Promise<PluginSandbox> {
  const readings = await readPluginDirs(directories);
  const discovered = buildPluginInventory(readings, { disabled: new Set(), sdkVersion: SDK_VERSION });
  const container = new Container();
  container.load(registryModule, utilsModule);
  const activation = container.get(PluginActivationService);
  const outcome = await activation.activate(discovered, {
    ...(options.sink ? { logSink: options.sink } : {}),
    ...(options.debug !== undefined ? { debug: options.debug } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  const inventory = withActivationOutcome(discovered, outcome);
  let closed: Promise<StopFailure[]> | undefined;
  return {
    inventory,
    collector: container.get(ServiceRegistry).createCollector(),
    chainOf: (name) => {
      const root = inventory.records.get(name)?.rootName ?? name;
      // The sandbox has no disabled set: the way to run without a broken directory is not to pass it.
      return chainNames(inventory, root, `the chain of ${root}`, { leaveOut: 'leave its directory out of --with' });
    },
    close: () => (closed ??= activation.stopAll()),
  };
}
