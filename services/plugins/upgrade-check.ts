import { resolve } from 'node:path';
import { PluginError, UserError } from '../../core/errors.js';
import type { JobParameterValues, ServiceCollector } from '../../core/plugin-contract.js';
import type { PluginDirectoryReading, PluginInventory } from '../../core/plugin-model.js';
import { participantsOf } from '../../core/plugin-tree.js';
import { ServiceIds } from '../../core/service-ids.js';
import { compareVersions } from '../../core/version.js';
import type { ReferenceHost } from '../../core/reference-host.js';
import { callHook } from '../plugin-hooks.js';
import { readProductManifestsOnHost, readProductPlugins } from './product-home.js';

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
 * where their products live, and look there for newer versions of those plugins. With a
 * reference host, the product homes are read on that host (local or SSH). The locators are
 * plugin code: called under the hook policy (time limit, `signal`, errors as the plugin's).
 */
export async function findUpgradeCandidates(
  inventory: PluginInventory,
  services: ServiceCollector,
  rootName: string,
  parameters: JobParameterValues,
  host?: ReferenceHost,
  signal?: AbortSignal,
): Promise<UpgradeCandidate[]> {
  const participants = participantsOf(inventory, rootName);
  const installed = new Map<string, string>();
  for (const name of participants) {
    const version = inventory.records.get(name)?.manifest?.version;
    if (version !== undefined) installed.set(name, version);
  }
  // Matched on the owner the registry recorded, not on the name the locator claims.
  const locators = services.getServicesWithOwner(ServiceIds.IntrospectorPluginLocator).filter((l) => installed.has(l.owner));

  const homes = new Set<string>();
  for (const { owner, service: locator } of locators) {
    const found = await callHook({ plugin: owner, hook: 'productInstallHomes', signal }, () => locator.productInstallHomes(parameters));
    if (!Array.isArray(found) || found.some((h) => typeof h !== 'string')) {
      throw new PluginError(owner, 'PLUGIN_CONTRACT', `productInstallHomes() of ${owner} must return an array of paths`, {
        hint: 'return [] when the job parameters name no product home',
      });
    }
    for (const home of found as readonly string[]) homes.add(host && host.kind !== 'local' ? home : resolve(home));
  }

  const candidates: UpgradeCandidate[] = [];
  for (const home of homes) {
    const shipped = host
      ? await readProductManifestsOnHost(host, home)
      : (await readProductPlugins(home).catch(() => ({ readings: [] as PluginDirectoryReading[] }))).readings.flatMap((r) =>
          r.manifest ? [{ manifest: r.manifest, directory: r.directory }] : [],
        );
    for (const { manifest: m, directory } of shipped) {
      const current = installed.get(m.name);
      if (current !== undefined && compareVersions(m.version, current) > 0) {
        candidates.push({ name: m.name, installedVersion: current, availableVersion: m.version, productHome: home, directory });
      }
    }
  }
  return candidates.sort((a, b) => a.name.localeCompare(b.name));
}

/** The introspection stops with this when any participating plugin has a newer version at its product. */
export function upgradeRequiredError(candidates: readonly UpgradeCandidate[], remoteHost?: string): UserError {
  const lines = candidates.map((c) => `${c.name} ${c.installedVersion} -> ${c.availableVersion} (in ${c.directory}${remoteHost ? ` on ${remoteHost}` : ''})`);
  const homes = [...new Set(candidates.map((c) => c.productHome))];
  const hint = remoteHost
    ? `copy ${homes.join(', ')} from ${remoteHost} (at least its plugins/introspector) and run abctl installPlugins --from <the copy>`
    : `upgrade first: ${homes.map((h) => `abctl installPlugins --from ${h}`).join(' && ')}`;
  return new UserError('PLUGIN_UPGRADE_REQUIRED', `newer plugin versions ship with the product being introspected:\n  ${lines.join('\n  ')}`, { hint });
}
