import { inject, injectable } from 'inversify';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import type { ActivationOutcome, PluginActivation, PluginInventory } from '../../core/plugin-model.js';
import { withActivationOutcome } from '../../core/plugin-tree.js';
import { InstanceLayout } from '../instance.js';
import { discoverPlugins } from './discovery.js';
import { PluginStateStore } from './plugin-state.js';

/**
 * The process's view of its plugins: installed ones first, then the bundled ones, so an
 * installed copy of a bundled plugin takes the name (the bundled one is reported as a
 * duplicate), with this process's activation outcome applied (a plugin whose activation
 * failed is broken). Discovery is cached until a command changes plugins and calls `invalidate()`.
 */
@injectable()
export class PluginInventoryService {
  #discovered: Promise<PluginInventory> | undefined;
  #view: Promise<PluginInventory> | undefined;
  /** Activation results of this process, kept across `invalidate()`: what did not start stays stopped. */
  readonly #activation = new Map<string, PluginActivation>();
  readonly state: PluginStateStore;

  constructor(@inject(InstanceLayout) private readonly layout: InstanceLayout) {
    this.state = new PluginStateStore(layout.configDir);
  }

  get(): Promise<PluginInventory> {
    this.#discovered ??= this.load();
    this.#view ??= this.#discovered.then((inventory) =>
      this.#activation.size === 0 ? inventory : withActivationOutcome(inventory, { plugins: this.#activation }),
    );
    return this.#view;
  }

  /** What activation did with the plugins; `get()` reflects it from now on. */
  recordActivation(outcome: ActivationOutcome): void {
    for (const [name, activation] of outcome.plugins) this.#activation.set(name, activation);
    this.#view = undefined;
  }

  invalidate(): void {
    this.#discovered = undefined;
    this.#view = undefined;
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
