import { inject, injectable } from 'inversify';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import type { PluginInventory } from '../../core/plugin-model.js';
import { InstanceLayout } from '../instance.js';
import { discoverPlugins } from './discovery.js';
import { PluginStateStore } from './plugin-state.js';

/**
 * The process's view of its plugins: installed ones first, then the bundled ones, so an
 * installed copy of a bundled plugin takes the name (the bundled one is reported as a
 * duplicate). Cached until a command changes plugins and calls `invalidate()`.
 */
@injectable()
export class PluginInventoryService {
  private cached: Promise<PluginInventory> | undefined;
  readonly state: PluginStateStore;

  constructor(@inject(InstanceLayout) private readonly layout: InstanceLayout) {
    this.state = new PluginStateStore(layout.configDir);
  }

  get(): Promise<PluginInventory> {
    this.cached ??= this.load();
    return this.cached;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async load(): Promise<PluginInventory> {
    const disabled = await this.state.readDisabled();
    return discoverPlugins(
      [
        { path: this.layout.pluginsDir, source: 'installed' },
        { path: this.layout.bundledPluginsDir, source: 'bundled' },
      ],
      { disabled, sdkVersion: SDK_VERSION },
    );
  }
}
