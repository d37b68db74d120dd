import { resolve } from 'node:path';
import { PluginError, UserError } from '../../core/errors.js';
import type { Collector, JobParameterValues } from '../../core/plugin-contract.js';
import type { PluginInventory } from '../../core/plugin-model.js';
import { participantsOf } from '../../core/plugin-tree.js';
import { ServiceIds } from '../../core/service-ids.js';
import { compareVersions } from '../../core/version.js';
import { readProductPlugins } from './product-home.js';

export interface UpgradeCandidate {
  readonly name: string;
  readonly installedVersion: string;
  readonly availableVersion: string;
  /** Product home the newer plugin was found in (what to pass to installPlugins --from). */
  readonly productHome: string;
  readonly directory: string;
}

/**
 * Before an introspection: ask the locators of the participating plugin and extensions
 * where their products live, and look there for newer versions of those plugins.
 */
export async function findUpgradeCandidates(
  inventory: PluginInventory,
  collector: Collector,
  rootName: string,
  parameters: JobParameterValues,
): Promise<UpgradeCandidate[]> {
  const participants = participantsOf(inventory, rootName);
  const installed = new Map<string, string>();
  for (const name of participants) {
    const version = inventory.records.get(name)?.manifest?.version;
    if (version !== undefined) installed.set(name, version);
  }
  const locators = collector
    .getServices(ServiceIds.IntrospectorPluginLocator)
    .filter((l) => installed.has(l.pluginOrExtensionName));

  const homes = new Set<string>();
  for (const locator of locators) {
    let found: readonly string[];
    try {
      found = await locator.productInstallHomes(parameters);
    } catch (err) {
      throw new PluginError(locator.pluginOrExtensionName, 'LOCATOR_FAILED',
        `the locator of ${locator.pluginOrExtensionName} could not name its product home: ${(err as Error).message}`, { cause: err });
    }
    for (const home of found) homes.add(resolve(home));
  }

  const candidates: UpgradeCandidate[] = [];
  for (const home of homes) {
    const { readings } = await readProductPlugins(home).catch(() => ({ readings: [] }));
    for (const r of readings) {
      const m = r.manifest;
      const current = m && installed.get(m.name);
      if (m && current !== undefined && compareVersions(m.version, current) > 0) {
        candidates.push({ name: m.name, installedVersion: current, availableVersion: m.version, productHome: home, directory: r.directory });
      }
    }
  }
  return candidates.sort((a, b) => a.name.localeCompare(b.name));
}

/** The introspection stops with this when any participating plugin has a newer version at its product. */
export function upgradeRequiredError(candidates: readonly UpgradeCandidate[]): UserError {
  const lines = candidates.map((c) => `${c.name} ${c.installedVersion} -> ${c.availableVersion} (in ${c.directory})`);
  const homes = [...new Set(candidates.map((c) => c.productHome))];
  return new UserError('PLUGIN_UPGRADE_REQUIRED', `newer plugin versions ship with the product being introspected:\n  ${lines.join('\n  ')}`, {
    hint: `upgrade first: ${homes.map((h) => `abctl installPlugins --from ${h}`).join(' && ')}`,
  });
}
